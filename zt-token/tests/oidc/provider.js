// A real OpenID provider (the npm package `oidc-provider`) for the zt-token integration
// tests. Listens on 127.0.0.1 (port from $PORT, 0 for any) and prints `READY <port>` once it
// accepts connections.
//
// Client `svc` / `secret` gets JWT access tokens (`typ: at+jwt`) by client credentials with a
// resource indicator; the resource picks the signing algorithm and becomes the audience:
//   urn:zt:rs256 -> RS256, urn:zt:es256 -> ES256, urn:zt:eddsa -> EdDSA.
// `POST /admin/rotate` replaces every signing key with new ones (new kids), without a
// restart, so the validator has to follow the rotation through the JWKS.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const ALGORITHMS = { 'urn:zt:rs256': 'RS256', 'urn:zt:es256': 'ES256', 'urn:zt:eddsa': 'EdDSA' };

function signingKeys(generation) {
  const make = (type, options, alg) => {
    const { privateKey } = generateKeyPairSync(type, options);
    return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-g${generation}` };
  };
  return [
    make('rsa', { modulusLength: 2048 }, 'RS256'),
    make('ec', { namedCurve: 'P-256' }, 'ES256'),
    make('ed25519', {}, 'EdDSA'),
  ];
}

function makeProvider(issuer, generation) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'svc',
      client_secret: 'secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: signingKeys(generation) },
    cookies: { keys: ['zt-token-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:zt:es256',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const alg = ALGORITHMS[resource];
          if (!alg) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'read write',
            audience: resource,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  return provider.callback();
}

const server = http.createServer();
let generation = 1;
let handler;

server.on('request', (req, res) => {
  if (req.method === 'POST' && req.url === '/admin/rotate') {
    generation += 1;
    handler = makeProvider(issuer(), generation);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ generation }));
    return;
  }
  handler(req, res);
});

function issuer() {
  return `http://127.0.0.1:${server.address().port}`;
}

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  handler = makeProvider(issuer(), generation);
  process.stdout.write(`READY ${server.address().port}\n`);
});

// Exit when the test that spawned us goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
