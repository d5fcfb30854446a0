//! Shared pieces of the zt examples: an mTLS HTTP client that opens one connection per call,
//! the file-based server of `mtls-server`, the table the quickstart prints and an in-memory
//! `metrics` recorder.
#![warn(missing_docs)]

pub mod args;
mod client;
mod recorder;
pub mod server;
mod table;

pub use client::{CALL_TIMEOUT, MtlsClient, Reply, http1_tls_options, root_cause};
pub use recorder::MemoryRecorder;
pub use table::{Row, challenge_description, table};

/// An error of any kind, for examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
