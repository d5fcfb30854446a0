//! Core types of zt, an embeddable zero-trust SDK: who a caller is, what it asks, and the
//! default-deny policy that answers.
//!
//! Nothing here knows about TLS, JWT or HTTP servers; `zt-mtls` and `zt-token` produce the
//! identities, `zt-tower` asks the questions.
#![warn(missing_docs)]

mod clock;
mod decision;
mod id;
mod identity;
mod path;
mod policy;
mod request;

pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::{Decision, Effect, Reason};
pub use id::{IdError, MAX_ID_LEN, MAX_TRUST_DOMAIN_LEN, SpiffeId, TrustDomain};
pub use identity::{Attributes, CertThumbprint, PeerIdentity, Principal, Subject, TransportIdentity};
pub use path::NormalizedPath;
pub use policy::Policy;
pub use request::AccessRequest;
