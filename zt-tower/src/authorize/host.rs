//! Which host a request was sent to, and whether it names more than one.

use http::header::HOST;
use http::{HeaderName, Request};

/// `X-Forwarded-Host`: a host some readers (axum-extra's `Host`) prefer to `Host`.
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// `Forwarded` (RFC 7239), whose `host=` parameters some readers prefer to `Host`.
static FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// The host the request was sent to: the URI's authority (HTTP/2) or the `Host` header.
pub(super) fn host_of<B>(request: &Request<B>) -> Option<&str> {
    request
        .uri()
        .host()
        .or_else(|| request.headers().get(HOST)?.to_str().ok())
}

/// Whether the request's host is ambiguous: `Host` repeated or not text, a URI authority
/// and a `Host` header that differ, or a forwarded host that differs from either.
pub(super) fn has_conflicting_hosts<B>(request: &Request<B>) -> bool {
    let Some(received) = received_host(request) else {
        return true;
    };
    !forwarded_hosts_agree(request, received)
}

/// The host as received (`host[:port]`, `Some(None)` when the request names none), or
/// `None` when the request names it ambiguously.
fn received_host<B>(request: &Request<B>) -> Option<Option<&str>> {
    let mut hosts = request.headers().get_all(HOST).iter();
    let authority = request.uri().authority().map(|a| a.as_str());
    let header = match (hosts.next(), hosts.next()) {
        // No Host header (HTTP/2 carries :authority): nothing to disagree with.
        (None, _) => return Some(authority),
        (Some(_), Some(_)) => return None,
        (Some(header), None) => header,
    };
    // A host that cannot be read is no host to the policy but may be one to the service.
    let header = header.to_str().ok()?;
    match authority {
        Some(authority) if !header.eq_ignore_ascii_case(authority) => None,
        _ => Some(Some(header)),
    }
}

/// Whether every `X-Forwarded-Host` and `Forwarded: host=` value names `received`.
fn forwarded_hosts_agree<B>(request: &Request<B>, received: Option<&str>) -> bool {
    let agrees = |host: &str| received.is_some_and(|r| r.eq_ignore_ascii_case(host));
    let headers = request.headers();
    let forwarded_for = headers.get_all(&X_FORWARDED_HOST).iter().all(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').all(|host| agrees(host.trim())))
    });
    forwarded_for
        && headers.get_all(&FORWARDED).iter().all(|value| {
            value
                .to_str()
                .is_ok_and(|v| forwarded_host_params(v).all(&agrees))
        })
}

/// The `host=` values of a `Forwarded` header value, unquoted.
fn forwarded_host_params(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', ';'])
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, host)| host.trim().trim_matches('"'))
}
