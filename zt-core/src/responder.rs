//! Automated response: quarantine a principal that behaves like an intruder.
//!
//! The full documentation is on the main type, re-exported at the crate root.

mod bounded;
mod config;
mod state;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::{
    Decision, Effect, PeerIdentity, Principal, Reason, Revocation, RevocationList,
    RevocationOrigin, RevocationTarget,
};
use state::{DenyOutcome, TrackedState};

pub use config::ResponderConfig;

/// Name of the counter of quarantines, labelled by `trigger`.
pub const METRIC_QUARANTINES: &str = "zt_responder_quarantines_total";
/// Name of the counter of tracked entries evicted to keep memory bounded, labelled by `map`.
pub const METRIC_RESPONDER_EVICTIONS: &str = "zt_responder_evictions_total";

/// What made the responder quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// The principal collected this many denies within the window.
    DenyThreshold {
        /// Denies counted in the window.
        denies: usize,
    },
    /// A certificate-bound token came over a connection with another certificate.
    BoundTokenMismatch,
    /// A token id was seen from two different peers.
    TokenReplay,
}

impl Trigger {
    /// The trigger's name in metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DenyThreshold { .. } => "deny_threshold",
            Self::BoundTokenMismatch => "bound_token_mismatch",
            Self::TokenReplay => "token_replay",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DenyThreshold { denies } => write!(f, "{denies} denies within the window"),
            Self::BoundTokenMismatch => f.write_str("bound token over a mismatched certificate"),
            Self::TokenReplay => f.write_str("token id seen from two different peers"),
        }
    }
}

/// A security event found outside the decision path, for [`Responder::report`].
///
/// Report an event only with claims from a token whose signature verified: the event names
/// whom to quarantine, so an event built from unverified claims would let anyone quarantine
/// anyone.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SecurityEvent {
    /// A token bound to one certificate (RFC 8705 `cnf.x5t#S256`) was presented over a
    /// connection with another. Quarantines the token (its id, else its subject) and the
    /// presenting peer.
    BoundTokenMismatch {
        /// The token's `iss`.
        issuer: Arc<str>,
        /// The token's `sub`.
        subject: Arc<str>,
        /// The token's `jti`, if it has one.
        token_id: Option<Arc<str>>,
        /// The peer that presented the token, if the connection had one.
        peer: Option<Arc<PeerIdentity>>,
    },
    /// One token id was presented by two different peers. Quarantines the token id.
    TokenReplay {
        /// The token's `iss`.
        issuer: Arc<str>,
        /// The token's `jti`.
        token_id: Arc<str>,
    },
}

/// What the quarantine callback receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// What was put on the revocation list.
    pub targets: Vec<RevocationTarget>,
    /// Why.
    pub trigger: Trigger,
    /// When the quarantine lapses.
    pub until: SystemTime,
    /// Whether every target made it onto the revocation list; `false` when the list was full
    /// (see [`RevocationList::with_capacity`]): the caller was *not* contained.
    pub recorded: bool,
}

type Callback = Arc<dyn Fn(&Quarantine) + Send + Sync>;

/// Watches decisions and events, and quarantines principals that cross a threshold.
///
/// A `Responder` is fed with every decision ([`Responder::observe`]) and with security
/// events found elsewhere ([`Responder::report`]). It quarantines when one of these triggers
/// fires ([`Trigger`]):
///
/// - a principal collects [`ResponderConfig::deny_threshold`] denies within
///   [`ResponderConfig::deny_window`] (sliding window);
/// - a certificate-bound token is presented over a connection whose certificate does not
///   match ([`SecurityEvent::BoundTokenMismatch`], reported by the authentication layer);
/// - one token id is seen from two different mTLS peers (found by `observe` itself, or
///   reported as [`SecurityEvent::TokenReplay`]).
///
/// A quarantine is a [`Revocation`] with origin [`RevocationOrigin::Quarantine`], a reason
/// and an expiry [`ResponderConfig::quarantine_for`] ahead, put in the shared
/// [`RevocationList`]; it is released when it expires or through
/// [`Responder::release`]. A callback ([`Responder::on_quarantine`]) lets the service page
/// someone.
///
/// Which identity a deny counts against: the token subject (issuer and `sub`) when there is
/// one, else the mTLS peer's SPIFFE ID. Anonymous denies are not tracked (there is nothing to
/// quarantine). Denies whose reason is [`Reason::Revoked`] are not counted, so a quarantined
/// principal starts afresh when it is released.
///
/// # Bounded memory
///
/// Per-principal state lives in sharded maps with a hard bound each
/// ([`ResponderConfig::max_tracked`] principals with recent denies,
/// [`ResponderConfig::max_tracked_tokens`] token ids). When a map is full, entries whose
/// window or token has lapsed are dropped first; if that frees nothing, the lowest ranked
/// eighth is evicted in one pass (for denies: fewest denies in the window, then oldest last
/// deny, so a flood of one-off principals evicts itself before it evicts a repeat offender).
/// Evictions are counted in `zt_responder_evictions_total{map}`. An evicted principal loses
/// its count; that is the price of the bound.
///
/// # Wiring it into a request path
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use zt_core::{Decision, Principal, Reason, Responder, ResponderConfig, RevocationList};
///
/// let revocations = Arc::new(RevocationList::new());
/// let (pager, pages) = std::sync::mpsc::channel();
/// let responder = Responder::new(Arc::clone(&revocations), ResponderConfig::default())
///     .on_quarantine(move |quarantine| {
///         // Hand off to a channel or a webhook task; do not block the request here.
///         let _ = pager.send(quarantine.clone());
///     });
///
/// // In the authorization layer, for each request, after the decision:
/// let principal = Principal::default();
/// let now = SystemTime::now();
/// let decision = match revocations.check(&principal, now) {
///     Some(revocation) => revocation.to_decision(),
///     None => Decision::deny(Reason::NoRuleMatched), // policy.evaluate(&request)
/// };
/// responder.observe(&principal, &decision, now);
/// assert!(pages.try_recv().is_err()); // an anonymous deny quarantines nobody
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Requests refused before a principal exists (a bad token over a verified mTLS connection)
/// can be counted against the peer: call `observe` with a principal holding only the peer and
/// a deny decision.
///
/// # Metrics
///
/// - `zt_responder_quarantines_total{trigger}`: quarantines, `trigger` = `deny_threshold`,
///   `bound_token_mismatch` or `token_replay`;
/// - `zt_responder_evictions_total{map}`: tracked entries evicted to keep the bound, `map` =
///   `denies` or `tokens`.
pub struct Responder {
    revocations: Arc<RevocationList>,
    config: ResponderConfig,
    state: TrackedState,
    callback: Option<Callback>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("config", &self.config)
            .field("tracked_principals", &self.tracked_principals())
            .field("tracked_tokens", &self.tracked_tokens())
            .field("callback", &self.callback.is_some())
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder that puts its quarantines in `revocations`.
    pub fn new(revocations: Arc<RevocationList>, config: ResponderConfig) -> Self {
        Self {
            state: TrackedState::new(&config),
            revocations,
            config,
            callback: None,
        }
    }

    /// Sets the function called after each quarantine, on the request's thread: it must be
    /// quick and must not panic (send to a channel, spawn a task).
    pub fn on_quarantine(mut self, callback: impl Fn(&Quarantine) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ResponderConfig {
        &self.config
    }

    /// Feeds one decision. Allows cost one token-replay lookup when the principal has both a
    /// token id and a peer; denies also count towards the deny threshold.
    pub fn observe(&self, principal: &Principal, decision: &Decision, now: SystemTime) {
        if self.config.quarantine_on_token_replay {
            self.check_token_replay(principal, now);
        }
        if decision.effect == Effect::Deny && !matches!(decision.reason, Reason::Revoked(_)) {
            self.count_deny(principal, now);
        }
    }

    /// Feeds a security event found outside the decision path.
    pub fn report(&self, event: SecurityEvent, now: SystemTime) {
        match event {
            SecurityEvent::BoundTokenMismatch {
                issuer,
                subject,
                token_id,
                peer,
            } if self.config.quarantine_on_bound_token_mismatch => {
                let token = match token_id {
                    Some(id) => RevocationTarget::token_id(issuer, id),
                    None => RevocationTarget::subject(issuer, subject),
                };
                let peer = peer.map(|p| RevocationTarget::SpiffeId(p.spiffe_id.clone()));
                let targets = std::iter::once(token).chain(peer).collect();
                self.quarantine(targets, Trigger::BoundTokenMismatch, now);
            }
            SecurityEvent::TokenReplay { issuer, token_id }
                if self.config.quarantine_on_token_replay =>
            {
                let target = RevocationTarget::token_id(issuer, token_id);
                self.quarantine(vec![target], Trigger::TokenReplay, now);
            }
            _ => {}
        }
    }

    /// Lifts the quarantine (or any run-time revocation) of `target` before it expires.
    pub fn release(&self, target: &RevocationTarget) -> Option<Revocation> {
        self.revocations.release(target)
    }

    /// Principals with denies currently tracked (bounded by `max_tracked`).
    pub fn tracked_principals(&self) -> usize {
        self.state.denies_len()
    }

    /// Token ids currently tracked for replay detection (bounded by `max_tracked_tokens`).
    pub fn tracked_tokens(&self) -> usize {
        self.state.tokens_len()
    }

    fn count_deny(&self, principal: &Principal, now: SystemTime) {
        let Some(target) = deny_target(principal) else {
            return;
        };
        if let DenyOutcome::Crossed { denies } = self.state.count_deny(&target, now) {
            self.quarantine(vec![target], Trigger::DenyThreshold { denies }, now);
        }
    }

    fn check_token_replay(&self, principal: &Principal, now: SystemTime) {
        let (Some(peer), Some(subject)) = (principal.peer.as_deref(), principal.subject.as_deref())
        else {
            return;
        };
        let Some(token_id) = subject.token_id.as_deref() else {
            return;
        };
        if self
            .state
            .token_seen_from(subject, token_id, &peer.spiffe_id, now)
        {
            let target = RevocationTarget::token_id(Arc::clone(&subject.issuer), token_id);
            self.quarantine(vec![target], Trigger::TokenReplay, now);
        }
    }

    fn quarantine(&self, targets: Vec<RevocationTarget>, trigger: Trigger, now: SystemTime) {
        let until = now + self.config.quarantine_for;
        let reason: Arc<str> = Arc::from(format!("quarantined: {trigger}"));
        let mut recorded = true;
        for target in &targets {
            let revocation = Revocation::new(target.clone(), Arc::clone(&reason))
                .until(until)
                .origin(RevocationOrigin::Quarantine);
            if let Err(error) = self.revocations.revoke(revocation, now) {
                tracing::warn!(%error, quarantine.target = %target, "quarantine not recorded");
                recorded = false;
            }
        }
        metrics::counter!(METRIC_QUARANTINES, "trigger" => trigger.as_str()).increment(1);
        tracing::warn!(quarantine.trigger = %trigger, quarantine.targets = ?targets, "quarantined");

        let quarantine = Quarantine {
            targets,
            trigger,
            until,
            recorded,
        };
        if let Some(callback) = &self.callback {
            callback(&quarantine);
        }
    }
}

/// The identity a deny counts against: the token subject, else the peer's SPIFFE ID.
fn deny_target(principal: &Principal) -> Option<RevocationTarget> {
    if let Some(subject) = principal.subject.as_deref() {
        let issuer = Arc::clone(&subject.issuer);
        return Some(RevocationTarget::subject(
            issuer,
            Arc::clone(&subject.subject),
        ));
    }
    let peer = principal.peer.as_deref()?;
    Some(RevocationTarget::SpiffeId(peer.spiffe_id.clone()))
}
