//! The question a policy answers: may this principal do this now?

use std::time::SystemTime;

use http::{HeaderMap, Method};

use crate::{Attributes, NormalizedPath, Principal};

/// One request to authorize, borrowed from the HTTP request so that building it costs
/// nothing per request.
///
/// ```
/// use std::time::SystemTime;
/// use http::Method;
/// use zt_core::{AccessRequest, Principal, normalize_path};
///
/// let path = normalize_path("/orders/42")?;
/// let principal = Principal::default();
/// let request = AccessRequest::new(&Method::GET, &path, &principal, SystemTime::now())
///     .with_host("orders.example.org");
/// assert_eq!(request.path.as_str(), "/orders/42");
/// # Ok::<(), zt_core::PathError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The HTTP method, case-sensitive as HTTP defines it.
    pub method: &'a Method,
    /// The normalized path.
    pub path: &'a NormalizedPath,
    /// The host the request was sent to (from `:authority` or `Host`), as received.
    pub host: Option<&'a str>,
    /// The request headers, if header rules should see them.
    pub headers: Option<&'a HeaderMap>,
    /// Who is asking.
    pub principal: &'a Principal,
    /// When the request is decided.
    pub now: SystemTime,
    /// Attributes of the request itself (as opposed to the caller's).
    pub attributes: Option<&'a Attributes>,
}

impl<'a> AccessRequest<'a> {
    /// A request with no host, headers or request attributes.
    pub fn new(
        method: &'a Method,
        path: &'a NormalizedPath,
        principal: &'a Principal,
        now: SystemTime,
    ) -> Self {
        Self {
            method,
            path,
            host: None,
            headers: None,
            principal,
            now,
            attributes: None,
        }
    }

    /// Sets the host.
    pub fn with_host(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }

    /// Sets the headers.
    pub fn with_headers(mut self, headers: &'a HeaderMap) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Sets the request attributes.
    pub fn with_attributes(mut self, attributes: &'a Attributes) -> Self {
        self.attributes = Some(attributes);
        self
    }
}
