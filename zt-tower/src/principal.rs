//! Where the layers keep what they verified: the request extensions.
//!
//! The connection wrapper inserts the connection's [`TransportIdentity`]; the
//! authentication layer inserts a [`Principal`] holding the peer and the token subject; the
//! authorization layer reads that principal (or builds one from the transport identity when
//! no authentication layer ran) and leaves it in place for the service.

use http::Extensions;
use zt_core::{Principal, TransportIdentity};

/// The principal of a request, taken out of its extensions.
///
/// Uses the [`Principal`] an authentication layer left there or, when there is none, one
/// holding only the verified mTLS peer of the connection (anonymous if there is no peer).
pub(crate) fn take_principal(extensions: &mut Extensions) -> Principal {
    if let Some(principal) = extensions.remove::<Principal>() {
        return principal;
    }
    Principal {
        peer: peer_of(extensions),
        ..Principal::default()
    }
}

/// The verified peer of the request's connection, if any.
pub(crate) fn peer_of(extensions: &Extensions) -> Option<std::sync::Arc<zt_core::PeerIdentity>> {
    extensions
        .get::<TransportIdentity>()
        .and_then(TransportIdentity::peer)
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use zt_core::{CertThumbprint, PeerIdentity, SpiffeId};

    use super::*;

    fn peer() -> Arc<PeerIdentity> {
        Arc::new(PeerIdentity {
            spiffe_id: SpiffeId::new("spiffe://example.org/ns/prod/sa/web").unwrap(),
            thumbprint: CertThumbprint([7; 32]),
            not_after: SystemTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn principal_from_a_verified_connection_holds_the_peer() {
        let mut extensions = Extensions::new();
        extensions.insert(TransportIdentity::Verified(peer()));
        let principal = take_principal(&mut extensions);
        assert_eq!(principal.peer, Some(peer()));
        assert!(principal.subject.is_none());
    }

    #[test]
    fn principal_without_any_identity_is_anonymous() {
        let principal = take_principal(&mut Extensions::new());
        assert!(!principal.is_authenticated());
    }

    #[test]
    fn principal_left_by_authentication_is_taken_as_is() {
        let mut extensions = Extensions::new();
        extensions.insert(TransportIdentity::Plaintext);
        let mut attributes = zt_core::Attributes::new();
        attributes.insert("device.managed", true);
        extensions.insert(Principal {
            attributes: attributes.clone(),
            ..Principal::default()
        });
        let principal = take_principal(&mut extensions);
        assert_eq!(principal.attributes, attributes);
        assert!(extensions.get::<Principal>().is_none());
    }
}
