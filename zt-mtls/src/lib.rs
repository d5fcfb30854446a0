//! SPIFFE mutual TLS for rustls: every connection proves a workload identity on both sides
//! before a byte of HTTP is read.
//!
//! - [`TrustBundleSet`]: CA certificates per trust domain (PEM or SPIFFE bundle JSON);
//!   several trust domains make a federation. A certificate is checked against the bundle of
//!   the trust domain in its own SPIFFE ID, and no other.
//! - [`SpiffeClientVerifier`] (server side) and [`SpiffeServerVerifier`] (client side):
//!   rustls verifiers enforcing the X509-SVID rules, then an [`Authorizer`].
//! - [`SvidSource`] and [`BundleSource`]: where the current SVID and bundles come from, in
//!   memory or from PEM files re-read on change, read lock-free at each handshake.
//! - [`server_config`] / [`client_config`]: rustls configs with TLS 1.3, ALPN `h2` and
//!   `http/1.1`, session resumption off and no CA names sent.
//! - [`SpiffeAcceptor`] / [`SpiffeConnector`]: tokio-rustls with the peer's
//!   [`PeerIdentity`](zt_core::PeerIdentity) alongside each stream; [`peer_identity`] reads
//!   it from any rustls connection.
//! - `dev` (feature `dev`): an in-memory development CA for examples, tests and benchmarks.
//!
//! ```
//! # #[cfg(feature = "dev")] {
//! use zt_mtls::dev::DevCa;
//! use zt_mtls::{Authorizer, SpiffeClientVerifier, SpiffeServerVerifier, TrustBundleSet};
//!
//! let ca = DevCa::new("example.org".parse()?)?;
//! let bundles = TrustBundleSet::new().with(ca.bundle()?);
//! let orders = "spiffe://example.org/ns/prod/sa/orders".parse()?;
//!
//! let members = Authorizer::member_of(ca.trust_domain().clone());
//! let server = zt_mtls::server_config(
//!     ca.issue_svid(&orders)?,
//!     SpiffeClientVerifier::new(bundles.clone(), members),
//! )?;
//! let client = zt_mtls::client_config(
//!     ca.issue_svid(&"spiffe://example.org/ns/prod/sa/web".parse()?)?,
//!     SpiffeServerVerifier::new(bundles, Authorizer::exact(orders)),
//! )?;
//! let acceptor = zt_mtls::SpiffeAcceptor::new(server);
//! let connector = zt_mtls::SpiffeConnector::new(client);
//! # let _ = (acceptor, connector);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod acceptor;
mod authorizer;
mod bundle;
mod config;
#[cfg(feature = "dev")]
pub mod dev;
mod files;
mod peer;
mod pem;
mod report;
mod source;
mod svid;
mod verifier;
mod verify;
mod x509;

pub use acceptor::{AcceptError, SpiffeAcceptor, SpiffeConnector};
pub use authorizer::{Authorizer, Unauthorized};
pub use bundle::{BundleError, TrustBundle, TrustBundleSet};
pub use config::{
    ConfigError, TlsOptions, client_config, client_config_with, server_config, server_config_with,
};
pub use files::{BundleFileSource, PemFileSvidSource, WatchError};
pub use peer::{PeerIdentityError, peer_identity};
pub use source::{BundleSource, InMemorySvidSource, SharedBundleSet, SvidSource};
pub use svid::{LoadError, PemReadError, Svid};
pub use verifier::{SpiffeClientVerifier, SpiffeServerVerifier};
pub use verify::{MAX_INTERMEDIATES, VerifiedSvid, VerifyError};
pub use x509::{SvidError, X509SvidLeaf, parse_x509_svid};
