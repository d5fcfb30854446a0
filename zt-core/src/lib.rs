//! Core types of zt, an embeddable zero-trust SDK: who a caller is, what it asks, and the
//! default-deny policy that answers.
//!
//! Nothing here knows about TLS, JWT or HTTP servers; `zt-mtls` and `zt-token` produce the
//! identities, `zt-tower` asks the questions.
//!
//! - Identities: [`SpiffeId`], [`TrustDomain`] (strict SPIFFE ID parsing), [`PeerIdentity`],
//!   [`Subject`], [`Principal`].
//! - The question: [`AccessRequest`], with a path from [`normalize_path`].
//! - The answer: the [`Policy`] trait, [`Decision`], and [`RulePolicy`], a default-deny
//!   policy loaded from TOML, served through a [`PolicyHandle`] that reloads without locks.
//! - Just-in-time elevation: [`GrantStore`] of time-bound [`Grant`]s.
//! - Records: [`AuditSink`], [`DecisionRecord`], [`TracingAuditSink`],
//!   [`JsonLinesAuditSink`].
//!
//! # The policy file
//!
//! A policy is a list of `[[rule]]` tables and an optional `[policy]` table. Each rule has a
//! `name` (letters, digits, `.`, `-`, `_`; it appears in decisions, logs and metrics), an
//! `effect` (`allow` or `deny`), and says **who** it applies to, **what** requests, and
//! **when**. Every part a rule sets must hold for the rule to match; inside a list, any entry
//! may. Then:
//!
//! - any matching `deny` rule wins over every `allow` rule;
//! - a request that no rule matches is denied, also when the policy is empty;
//! - a condition that cannot be evaluated (a missing claim, a type mismatch, no host) makes a
//!   deny rule match and an allow rule not match, and the decision lists the error in
//!   [`Decision::errors`]. A rule is a conjunction: if another part definitely fails, the
//!   rule does not match whatever the error.
//!
//! ```toml
//! [policy]
//! revision = "2026-12-03.1"        # optional; by default a digest of the text
//! role_claims = ["groups"]         # claims read as roles besides Subject::roles
//!
//! [[rule]]
//! name = "orders-read"
//! effect = "allow"
//! peers = ["spiffe://example.org/ns/prod/*"]   # who: mTLS peers
//! methods = ["GET", "HEAD"]                    # what
//! paths = ["/orders", "/orders/{id}"]
//!
//! [[rule]]
//! name = "orders-write"
//! effect = "allow"
//! roles = ["orders.write"]                     # who: token roles or scopes (any of)
//! methods = ["POST"]
//! paths = ["/orders/*"]
//!
//! [[rule]]
//! name = "no-admin-from-outside"
//! effect = "deny"
//! anyone = true
//! paths = ["/admin/*"]
//! when = [{ attribute = "network.internal", equals = false }]
//! ```
//!
//! ## Who
//!
//! - `anyone = true`: every caller, unauthenticated ones too. (Behind zt-tower's
//!   `ZeroTrustLayer`, a request without a token is refused with 401 before the policy runs
//!   unless the layer's `TokenRequirement` makes the token optional.)
//! - `authenticated = true`: a caller with a verified mTLS peer or token.
//! - `peers`: mTLS peer SPIFFE IDs, exact (`spiffe://example.org/ns/prod/sa/web`), a whole
//!   trust domain (`spiffe://example.org/*`) or a path prefix
//!   (`spiffe://example.org/ns/prod/*`). IDs compare as values, never as text patterns.
//! - `trust_domains`: every peer ID of these trust domains.
//! - `issuers`, `subjects`: the token's `iss` and `sub`.
//! - `roles`: any of these roles or scopes, from [`Subject::roles`], the `role_claims`, or an
//!   active [`Grant`] of the caller. A role claim is an array of strings or a space-separated
//!   string, named as a top-level claim or a JSON pointer (`/realm_access/roles`); one of
//!   another type cannot be evaluated (a deny rule on roles then matches).
//!
//! A rule that says nothing about the caller is refused at load: write `anyone = true` if
//! that is what you mean. When an allow rule matches everything but the roles, the request
//! is denied with [`Reason::InsufficientRoles`], or [`Reason::GrantExpired`] if only an
//! expired grant had them.
//!
//! ## What
//!
//! - `methods`: case-sensitive HTTP methods. A request whose method is a case variant of a
//!   standard one (`delete`) or of one the policy names (`purge` for `PURGE`) is denied with
//!   [`Reason::NonCanonicalMethod`]. A deny rule on `GET` also denies `HEAD`, which routers
//!   serve with the `GET` handler.
//! - `paths`: matched against the [normalized](normalize_path) path; exact (`/health`),
//!   one-segment wildcard (`/orders/{id}`), prefix (`/orders/*`, which also matches
//!   `/orders` itself), or `/*` for every path. Patterns must be in normalized form; the
//!   router spelling `/orders/:id` is refused at load (write `{id}`). A deny
//!   rule reads `/a`, `/a/` and `/A` as one path (many routers, or layers in front of them,
//!   do); an allow rule matches exactly what it names.
//! - `hosts`: exact (`api.example.org`) or every host below a domain (`*.example.org`,
//!   not `example.org` itself), case-insensitive; a port and one trailing dot of the
//!   request's host are ignored. A malformed request host (`a..b`, `user@host`, `host:1:2`)
//!   cannot be evaluated: a deny rule on hosts matches it, an allow rule does not.
//! - `headers`: `{ "x-env" = ["prod", "staging"] }`; `"*"` is any value. Every value of a
//!   repeated or comma-joined header is read: a deny rule matches when any value is listed,
//!   an allow rule only when all are.
//!
//! ## When
//!
//! `when` is a list of conditions that must all hold. Each reads one `claim` (a top-level
//! claim, or a JSON pointer such as `/realm_access/roles`; `iss`, `sub`, `aud` and `jti`
//! fall back to the [`Subject`] fields), a caller `attribute` (such as device posture) or a
//! `request_attribute`, and applies one operator:
//!
//! - `equals`: a string, number, boolean or array of the same type;
//! - `one_of`: a list of values;
//! - `contains`: an element of an array, or a word of a space-separated string (`scope`);
//! - `exists`: `true` or `false`; a missing value is then an answer, not an error;
//! - `gt` or `ge`, `lt` or `le`: a numeric range (one or both ends).
//!
//! `not_before` and `not_after` (TOML datetimes with an offset) bound when a rule applies.
//!
//! ```toml
//! [[rule]]
//! name = "tenant-write"
//! effect = "allow"
//! issuers = ["https://idp.example.org"]
//! methods = ["POST"]
//! paths = ["/tenants/{id}/orders"]
//! when = [
//!   { claim = "tenant_tier", one_of = ["gold", "silver"] },
//!   { claim = "acr", ge = 2 },
//!   { attribute = "device.managed", equals = true },
//! ]
//! not_after = 2027-01-01T00:00:00Z
//! ```
//!
//! ## Dry-run and audit rules
//!
//! With `dry_run = true` a rule is evaluated and what it would have decided is recorded in
//! [`Decision::dry_run`], but it does not decide: try a new deny rule on live traffic first.
//! With `audit = true` the rule's decisions carry [`Decision::audit`], and audit sinks always
//! record them (a "break-glass" allow).
//!
//! ## Load errors
//!
//! Unknown keys, malformed SPIFFE IDs, patterns, methods, hosts, headers or datetimes,
//! duplicate names, and rules that can never match (an empty list, a lowercase `get`, a `*`
//! in `methods`, `roles`, `issuers` or `subjects`, an empty numeric range, a window that
//! ends before it starts, `anyone = false`) are refused
//! with the line and column of the offending text: see [`PolicyError`]. A policy that fails
//! to load never replaces a working one in a [`PolicyHandle`].
#![warn(missing_docs)]

mod audit;
mod civil_time;
mod clock;
mod decision;
mod grant;
mod id;
mod identity;
mod path;
mod policy;
mod posture;
mod request;
mod responder;
mod revocation;
mod rules;

pub use audit::{
    AuditSink, DEFAULT_AUDIT_QUEUE, DecisionRecord, JsonLinesAuditSink, METRIC_AUDIT_DROPPED,
    METRIC_DECISIONS, METRIC_DRY_RUN_MATCHES, MemoryAuditSink, MetricsAuditSink, NoopAuditSink,
    TracingAuditSink,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::{ConditionError, Decision, DryRunOutcome, Effect, GrantUse, Reason, RuleError};
pub use grant::{Grant, GrantStore, Grantee};
pub use id::{IdError, MAX_ID_LEN, MAX_TRUST_DOMAIN_LEN, SpiffeId, TrustDomain};
pub use identity::{
    Attributes, CertThumbprint, PeerIdentity, Principal, Subject, TransportIdentity,
};
pub use path::{MAX_PATH_LEN, NormalizedPath, PathError, normalize_path};
pub use policy::Policy;
pub use posture::{
    ClaimsPosture, PostureContext, PostureError, PostureSource, PostureSources, StaticPosture,
    apply_posture,
};
#[cfg(feature = "signed-posture")]
pub use posture::{PostureKey, SignedHeaderPosture, sign_posture_hmac};
pub use request::AccessRequest;
pub use responder::{
    METRIC_QUARANTINES, METRIC_RESPONDER_EVICTIONS, Quarantine, Responder, ResponderConfig,
    SecurityEvent, Trigger,
};
pub use revocation::{
    DEFAULT_RUNTIME_CAPACITY, LineError, METRIC_REVOCATION_ENTRIES, METRIC_REVOCATION_HITS,
    METRIC_REVOCATION_REJECTED, METRIC_REVOCATION_RELOADS, Revocation, RevocationError,
    RevocationKind, RevocationList, RevocationOrigin, RevocationTarget, RevocationWatcher,
};
pub use rules::{PolicyError, PolicyErrorKind, PolicyHandle, PolicyWatcher, RulePolicy};
