#!/usr/bin/env sh
# Makes a SPIFFE test PKI with the openssl CLI in the directory given as $1:
#   ca.pem / ca.key          the example.org CA (P-256, self-signed)
#   server.pem / server.key  X509-SVID spiffe://example.org/ns/prod/sa/orders (+ IP 127.0.0.1
#                            so that curl can check the server by address)
#   client.pem / client.key  X509-SVID spiffe://example.org/ns/prod/sa/curl
# Used by examples/tests/curl_interop.rs.
set -eu
dir="$1"
cd "$dir"

openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 1 -subj "/O=zt test CA" -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectAltName=URI:spiffe://example.org"

leaf() {
  name="$1"; san="$2"; eku="$3"
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.ec.key"
  openssl pkcs8 -topk8 -nocrypt -in "$name.ec.key" -out "$name.key"
  openssl req -new -key "$name.key" -subj "/O=zt test" -out "$name.csr"
  cat > "$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$eku
subjectAltName=$san
EXT
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
    -days 1 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
}

leaf server "URI:spiffe://example.org/ns/prod/sa/orders,IP:127.0.0.1" "serverAuth,clientAuth"
leaf client "URI:spiffe://example.org/ns/prod/sa/curl" "clientAuth,serverAuth"
