//! One compiled rule and how it matches a request.

use std::sync::Arc;
use std::time::SystemTime;

use super::condition::{Condition, pointer};
use super::matcher::{
    HeaderMatch, HostPattern, PathPattern, PeerPattern, Tri, is_well_formed_host,
};
use crate::grant::{Grant, GrantLookup, GrantStore};
use crate::{AccessRequest, ConditionError, Effect};

/// Who a rule applies to. Every part that is set must hold; within a list, any entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) authenticated: bool,
    pub(crate) peers: Box<[PeerPattern]>,
    pub(crate) issuers: Box<[Box<str>]>,
    pub(crate) subjects: Box<[Box<str>]>,
    pub(crate) roles: Box<[Box<str>]>,
}

/// A rule, checked and ready to match.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) name: Arc<str>,
    pub(crate) effect: Effect,
    pub(crate) dry_run: bool,
    pub(crate) audit: bool,
    pub(crate) caller: Caller,
    pub(crate) methods: Option<Box<[Box<str>]>>,
    pub(crate) paths: Option<Box<[PathPattern]>>,
    pub(crate) hosts: Option<Box<[HostPattern]>>,
    pub(crate) headers: Box<[HeaderMatch]>,
    pub(crate) conditions: Box<[Condition]>,
    pub(crate) not_before: Option<SystemTime>,
    pub(crate) not_after: Option<SystemTime>,
}

/// How a rule relates to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything holds; `grant` supplied the role if the caller lacked it.
    Match { grant: Option<Arc<Grant>> },
    /// Something definitely does not hold.
    NoMatch,
    /// Everything holds but the roles; `grant_expired` if only an expired grant had them.
    MissingRoles { grant_expired: bool },
    /// Nothing definitely fails but something could not be evaluated.
    Unknown(ConditionError),
}

/// What a rule needs besides the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) grants: Option<&'a GrantStore>,
    pub(crate) role_claims: &'a [Box<str>],
}

/// How a caller's roles bear on a rule.
enum Roles {
    Held,
    ViaGrant(Arc<Grant>),
    Missing {
        grant_expired: bool,
    },
    /// Not found, but a role claim had a type that cannot hold roles.
    Unknown(ConditionError),
}

impl Rule {
    /// Matches the rule against `request`, cheapest parts first. The rule is a conjunction
    /// read with three values: any part that fails decides `NoMatch`, even if another part
    /// could not be evaluated.
    pub(crate) fn evaluate(&self, request: &AccessRequest<'_>, cx: Context<'_>) -> Outcome {
        if !self.in_window(request.now) || !self.method_matches(request) {
            return Outcome::NoMatch;
        }
        if !self.path_matches(request) || !self.caller_matches(request) {
            return Outcome::NoMatch;
        }
        let mut unknown = None;
        for part in self.request_parts(request) {
            match part {
                Tri::True => {}
                Tri::False => return Outcome::NoMatch,
                Tri::Unknown(e) => unknown = unknown.or(Some(e)),
            }
        }
        match (self.roles(request, cx), unknown) {
            (Roles::Unknown(e), _) => Outcome::Unknown(e),
            (Roles::Missing { .. }, Some(_)) => Outcome::NoMatch,
            (Roles::Missing { grant_expired }, None) => Outcome::MissingRoles { grant_expired },
            (_, Some(e)) => Outcome::Unknown(e),
            (Roles::Held, None) => Outcome::Match { grant: None },
            (Roles::ViaGrant(grant), None) => Outcome::Match { grant: Some(grant) },
        }
    }

    fn in_window(&self, now: SystemTime) -> bool {
        self.not_before.is_none_or(|nb| now >= nb) && self.not_after.is_none_or(|na| now < na)
    }

    fn method_matches(&self, request: &AccessRequest<'_>) -> bool {
        let method = request.method.as_str();
        self.methods
            .as_ref()
            .is_none_or(|ms| ms.iter().any(|m| **m == *method))
    }

    /// A deny rule reads `/a`, `/a/` and `/A` as one path (routers often do); an allow rule
    /// matches exactly what it names.
    fn path_matches(&self, request: &AccessRequest<'_>) -> bool {
        let Some(patterns) = &self.paths else {
            return true;
        };
        match self.effect {
            Effect::Deny => patterns.iter().any(|p| p.matches_leniently(request.path)),
            Effect::Allow => patterns.iter().any(|p| p.matches(request.path)),
        }
    }

    fn caller_matches(&self, request: &AccessRequest<'_>) -> bool {
        let who = &self.caller;
        let principal = request.principal;
        if who.authenticated && !principal.is_authenticated() {
            return false;
        }
        if !who.peers.is_empty() {
            let Some(id) = principal.peer_id() else {
                return false;
            };
            if !who.peers.iter().any(|p| p.matches(id)) {
                return false;
            }
        }
        if who.issuers.is_empty() && who.subjects.is_empty() {
            return true;
        }
        let Some(subject) = principal.subject.as_deref() else {
            return false;
        };
        let issuer_ok =
            who.issuers.is_empty() || who.issuers.iter().any(|i| **i == *subject.issuer);
        let subject_ok =
            who.subjects.is_empty() || who.subjects.iter().any(|s| **s == *subject.subject);
        issuer_ok && subject_ok
    }

    /// The parts read from the request beyond method, path and caller: host, headers and
    /// conditions.
    fn request_parts<'s>(
        &'s self,
        request: &'s AccessRequest<'_>,
    ) -> impl Iterator<Item = Tri> + 's {
        let host = self.hosts.as_ref().map(|hosts| match request.host {
            Some(host) if !is_well_formed_host(host) => Tri::Unknown(ConditionError::MalformedHost),
            Some(host) => Tri::from_bool(hosts.iter().any(|h| h.matches(host))),
            None => Tri::Unknown(ConditionError::NoHost),
        });
        let deny = self.effect == Effect::Deny;
        let headers = self.headers.iter().map(move |h| match request.headers {
            Some(map) => h.matches(map, deny),
            None => Tri::Unknown(ConditionError::NoHeaders),
        });
        let conditions = self.conditions.iter().map(|c| c.evaluate(request));
        host.into_iter().chain(headers).chain(conditions)
    }

    fn roles(&self, request: &AccessRequest<'_>, cx: Context<'_>) -> Roles {
        let wanted = &self.caller.roles;
        if wanted.is_empty() {
            return Roles::Held;
        }
        let mut unreadable = None;
        for role in wanted {
            match holds_role(request, cx, role) {
                Ok(true) => return Roles::Held,
                Ok(false) => {}
                Err(e) => unreadable = unreadable.or(Some(e)),
            }
        }
        let lookup = cx.grants.map_or(GrantLookup::None, |grants| {
            grants.lookup(request.principal, wanted.iter().map(|r| &**r), request.now)
        });
        match (lookup, unreadable) {
            (GrantLookup::Active(grant), _) => Roles::ViaGrant(grant),
            (_, Some(e)) => Roles::Unknown(e),
            (GrantLookup::Expired, None) => Roles::Missing {
                grant_expired: true,
            },
            (GrantLookup::None, None) => Roles::Missing {
                grant_expired: false,
            },
        }
    }
}

/// Whether the token subject holds `role`, in its roles or in one of the role claims (an
/// array of strings, or a space-separated string such as `scope`; a name starting with `/`
/// is a JSON pointer). A role claim of another type cannot be read: an error, so that a deny
/// rule on roles fails closed.
fn holds_role(
    request: &AccessRequest<'_>,
    cx: Context<'_>,
    role: &str,
) -> Result<bool, ConditionError> {
    let Some(subject) = request.principal.subject.as_deref() else {
        return Ok(false);
    };
    if subject.has_role(role) {
        return Ok(true);
    }
    let mut unreadable = None;
    for claim in cx.role_claims {
        let value = match claim.strip_prefix('/') {
            Some(_) => pointer(&subject.claims, claim),
            None => subject.claims.get(&**claim),
        };
        let held = match value {
            // A null claim says "no roles", as an absent one does.
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(role)),
            Some(serde_json::Value::String(s)) => s.split_ascii_whitespace().any(|w| w == role),
            Some(other) => {
                unreadable = unreadable.or(Some(ConditionError::TypeMismatch {
                    name: Arc::from(&**claim),
                    operator: "roles",
                    found: json_type(other),
                }));
                false
            }
        };
        if held {
            return Ok(true);
        }
    }
    unreadable.map_or(Ok(false), Err)
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
