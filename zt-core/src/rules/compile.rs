//! Checking a parsed policy file and compiling its rules.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use http::Method;
use toml::Spanned;
use toml::value::{Datetime, Offset};

use super::condition::Condition;
use super::config::{EffectConfig, RuleConfig, SpannedList};
use super::error::{PolicyError, PolicyErrorKind, invalid};
use super::matcher::{HeaderMatch, HostPattern, PathPattern, PeerPattern};
use super::rule::{Caller, Rule};
use crate::{Effect, TrustDomain, civil_time};

/// Standard methods whose lowercase spellings are refused in a policy and in requests.
pub(crate) const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Compiles rules one by one, knowing the source text for error positions.
pub(crate) struct Compiler<'s> {
    source: &'s str,
    names: HashSet<String>,
}

/// A failure inside one rule: what and where.
type Failure = (Range<usize>, PolicyErrorKind);

impl<'s> Compiler<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Self {
            source,
            names: HashSet::new(),
        }
    }

    pub(crate) fn rule(&mut self, config: Spanned<RuleConfig>) -> Result<Rule, PolicyError> {
        let span = config.span();
        let config = config.into_inner();
        let name = config.name.get_ref().clone();
        let name_span = config.name.span();
        self.check_name(&name, name_span)?;
        compile_rule(config, span, &name)
            .map_err(|(at, kind)| invalid(self.source, at, Some(&name), kind))
    }

    fn check_name(&mut self, name: &str, span: Range<usize>) -> Result<(), PolicyError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !valid {
            return Err(invalid(self.source, span, None, PolicyErrorKind::BadName));
        }
        if !self.names.insert(name.to_owned()) {
            let kind = PolicyErrorKind::DuplicateName(name.to_owned());
            return Err(invalid(self.source, span, Some(name), kind));
        }
        Ok(())
    }
}

fn compile_rule(config: RuleConfig, span: Range<usize>, name: &str) -> Result<Rule, Failure> {
    let caller = caller(&config, span.clone())?;
    let not_before = config.not_before.map(datetime).transpose()?;
    let not_after = config.not_after.map(datetime).transpose()?;
    if let (Some(nb), Some(na)) = (not_before, not_after)
        && nb >= na
    {
        let kind = PolicyErrorKind::NeverMatches("`not_before` is not before `not_after`");
        return Err((span, kind));
    }
    let conditions = config
        .when
        .into_iter()
        .map(|c| {
            let at = c.span();
            Condition::parse(c.into_inner()).map_err(|k| (at, k))
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        name: Arc::from(name),
        effect: match config.effect {
            EffectConfig::Allow => Effect::Allow,
            EffectConfig::Deny => Effect::Deny,
        },
        dry_run: config.dry_run,
        audit: config.audit,
        caller,
        methods: config
            .methods
            .map(|m| parse_list(&m, method))
            .transpose()?
            .map(|m| with_head_for_get(m, config.effect)),
        paths: config
            .paths
            .map(|p| parse_list(&p, PathPattern::parse))
            .transpose()?,
        hosts: config
            .hosts
            .map(|h| parse_list(&h, HostPattern::parse))
            .transpose()?,
        headers: headers(config.headers)?,
        conditions,
        not_before,
        not_after,
    })
}

fn caller(config: &RuleConfig, span: Range<usize>) -> Result<Caller, Failure> {
    for flag in [&config.anyone, &config.authenticated]
        .into_iter()
        .flatten()
    {
        if !flag.get_ref() {
            let kind = PolicyErrorKind::NeverMatches(
                "set `anyone` or `authenticated` to true or leave it out",
            );
            return Err((flag.span(), kind));
        }
    }
    let mut peers: Vec<PeerPattern> = match &config.peers {
        Some(p) => parse_list(p, PeerPattern::parse)?.into_vec(),
        None => Vec::new(),
    };
    if let Some(domains) = &config.trust_domains {
        let domains = parse_list(domains, |d| {
            TrustDomain::new(d)
                .map(PeerPattern::TrustDomain)
                .map_err(PolicyErrorKind::BadTrustDomain)
        })?;
        peers.extend(domains.into_vec());
    }
    let caller = Caller {
        authenticated: config.authenticated.is_some(),
        peers: peers.into(),
        issuers: strings(config.issuers.as_ref())?,
        subjects: strings(config.subjects.as_ref())?,
        roles: strings(config.roles.as_ref())?,
    };
    if caller == Caller::default() && config.anyone.is_none() {
        return Err((span, PolicyErrorKind::NoCaller));
    }
    Ok(caller)
}

fn strings(list: Option<&SpannedList>) -> Result<Box<[Box<str>]>, Failure> {
    match list {
        Some(l) => parse_list(l, |s| not_a_star(s).map(|()| Box::from(s))),
        None => Ok(Box::new([])),
    }
}

/// Refuses `*` where it is no wildcard: matched as text, a deny rule would never fire.
fn not_a_star(text: &str) -> Result<(), PolicyErrorKind> {
    match text == "*" {
        true => Err(PolicyErrorKind::NeverMatches(
            "`*` is no wildcard here; leave the key out to match everything",
        )),
        false => Ok(()),
    }
}

/// Parses every entry of a list that must not be empty.
fn parse_list<T>(
    list: &SpannedList,
    parse: impl Fn(&str) -> Result<T, PolicyErrorKind>,
) -> Result<Box<[T]>, Failure> {
    if list.get_ref().is_empty() {
        return Err((
            list.span(),
            PolicyErrorKind::NeverMatches("an empty list matches nothing"),
        ));
    }
    list.get_ref()
        .iter()
        .map(|item| parse(item.get_ref()).map_err(|kind| (item.span(), kind)))
        .collect()
}

fn method(text: &str) -> Result<Box<str>, PolicyErrorKind> {
    not_a_star(text)?;
    if Method::from_bytes(text.as_bytes()).is_err() {
        return Err(PolicyErrorKind::BadMethod(text.to_owned()));
    }
    let lowercase_standard = STANDARD_METHODS
        .iter()
        .any(|m| *m != text && m.eq_ignore_ascii_case(text));
    if lowercase_standard {
        return Err(PolicyErrorKind::NeverMatches(
            "methods are case-sensitive; write standard methods in uppercase",
        ));
    }
    Ok(text.into())
}

/// A deny rule on `GET` also covers `HEAD`: routers serve `HEAD` with the `GET` handler
/// when no `HEAD` route exists, so the handler a deny rule means to stop would still run.
fn with_head_for_get(methods: Box<[Box<str>]>, effect: EffectConfig) -> Box<[Box<str>]> {
    let covers = |m: &str| methods.iter().any(|x| &**x == m);
    if effect != EffectConfig::Deny || !covers("GET") || covers("HEAD") {
        return methods;
    }
    let mut methods = methods.into_vec();
    methods.push("HEAD".into());
    methods.into()
}

fn headers(
    headers: Option<Spanned<std::collections::BTreeMap<String, super::config::OneOrMany>>>,
) -> Result<Box<[HeaderMatch]>, Failure> {
    let Some(headers) = headers else {
        return Ok(Box::new([]));
    };
    let span = headers.span();
    headers
        .into_inner()
        .into_iter()
        .map(|(name, values)| {
            HeaderMatch::parse(&name, values.into_vec()).map_err(|k| (span.clone(), k))
        })
        .collect()
}

/// A full TOML datetime with an offset, as a `SystemTime`.
fn datetime(value: Spanned<Datetime>) -> Result<SystemTime, Failure> {
    let span = value.span();
    let bad = || (span.clone(), PolicyErrorKind::BadDatetime);
    let dt = value.into_inner();
    let (Some(date), Some(time), Some(offset)) = (dt.date, dt.time, dt.offset) else {
        return Err(bad());
    };
    let days = civil_time::days_from_civil(
        i64::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    );
    let seconds = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second);
    let offset_minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i64::from(minutes),
    };
    civil_time::from_unix(seconds - offset_minutes * 60, time.nanosecond).ok_or_else(bad)
}
