//! The verified peer of an established connection, as a zt-core `PeerIdentity`.

use rustls::CommonState;
use zt_core::PeerIdentity;

use crate::svid::thumbprint_of;
use crate::x509::{SvidError, parse_x509_svid};

/// Why no `PeerIdentity` could be read from a connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerIdentityError {
    /// The peer presented no certificate (or the handshake is not done).
    #[error("peer presented no certificate")]
    NoCertificate,
    /// The peer's leaf is not an X509-SVID (the verifier was not a SPIFFE verifier).
    #[error("peer certificate is not an X509-SVID")]
    NotAnSvid(#[source] SvidError),
}

/// The peer's SPIFFE ID, leaf thumbprint (SHA-256 of the DER) and expiry, read from a
/// connection whose handshake completed.
///
/// Takes a `ServerConnection`, a `ClientConnection` or the `CommonState` of a tokio-rustls
/// stream. Only meaningful when the config used a SPIFFE verifier: this reads the leaf, it
/// does not verify it.
///
/// # Errors
///
/// [`PeerIdentityError`] if there is no peer certificate or it is not an X509-SVID.
pub fn peer_identity(connection: &CommonState) -> Result<PeerIdentity, PeerIdentityError> {
    let leaf = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or(PeerIdentityError::NoCertificate)?;
    let parsed = parse_x509_svid(leaf).map_err(PeerIdentityError::NotAnSvid)?;
    Ok(PeerIdentity {
        spiffe_id: parsed.spiffe_id,
        thumbprint: thumbprint_of(leaf),
        not_after: parsed.not_after,
    })
}
