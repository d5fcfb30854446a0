//! The rule index, built once at load: for each method and first path segment, the rules
//! that could match, so a request only looks at those.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::rule::Rule;
use crate::{Effect, NormalizedPath};

/// Rule positions that could match one (method, first segment) pair, by role.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    /// Enforced deny rules, in policy order.
    pub(crate) deny: Box<[u32]>,
    /// Enforced allow rules, in policy order.
    pub(crate) allow: Box<[u32]>,
    /// Dry-run rules of either effect, in policy order.
    pub(crate) dry_run: Box<[u32]>,
}

/// Buckets of one method, by the request's first path segment.
#[derive(Debug, Clone, Default)]
struct SegmentIndex {
    by_segment: HashMap<Box<str>, Bucket, Fnv>,
    other: Bucket,
}

/// Buckets by method, then by first path segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleIndex {
    by_method: HashMap<Box<str>, SegmentIndex, Fnv>,
    other_methods: SegmentIndex,
    /// Every method some rule names, to refuse case variants of them.
    named_methods: Box<[Box<str>]>,
}

impl RuleIndex {
    pub(crate) fn build(rules: &[Rule]) -> Self {
        let methods: BTreeSet<&str> = rules
            .iter()
            .flat_map(|r| r.methods.iter().flatten())
            .map(|m| &**m)
            .collect();
        let by_method = methods
            .iter()
            .map(|m| (Box::from(*m), SegmentIndex::build(rules, Some(m))))
            .collect();
        Self {
            by_method,
            other_methods: SegmentIndex::build(rules, None),
            named_methods: named_methods(rules),
        }
    }

    /// An index that hands every rule to every request: the linear scan the real index must
    /// agree with.
    #[cfg(test)]
    pub(crate) fn linear(rules: &[Rule]) -> Self {
        let all: Vec<(usize, &Rule)> = rules.iter().enumerate().collect();
        Self {
            by_method: HashMap::default(),
            other_methods: SegmentIndex {
                by_segment: HashMap::default(),
                other: bucket(&all, FirstSegment::Any),
            },
            named_methods: named_methods(rules),
        }
    }

    /// Whether `method` is not a method any rule names but differs from one only in case
    /// (`purge` for `PURGE`): a reader that folds case would take it for the named one.
    pub(crate) fn is_case_variant(&self, method: &str) -> bool {
        let mut folded = self
            .named_methods
            .iter()
            .filter(|m| m.eq_ignore_ascii_case(method));
        folded.clone().next().is_some() && folded.all(|m| **m != *method)
    }

    /// The rules that could match a request with `method` and `path`.
    pub(crate) fn candidates(&self, method: &str, path: &NormalizedPath) -> &Bucket {
        let index = self.by_method.get(method).unwrap_or(&self.other_methods);
        let first = path.segments().next().unwrap_or_default();
        // Buckets are keyed by the lowercase segment; fold only when there is something to fold.
        let bucket = match first.bytes().any(|b| b.is_ascii_uppercase()) {
            true => index.by_segment.get(first.to_ascii_lowercase().as_str()),
            false => index.by_segment.get(first),
        };
        bucket.unwrap_or(&index.other)
    }
}

/// The methods the rules name, each once.
fn named_methods(rules: &[Rule]) -> Box<[Box<str>]> {
    let names: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| r.methods.iter().flatten())
        .map(|m| &**m)
        .collect();
    names.into_iter().map(Box::from).collect()
}

impl SegmentIndex {
    /// The buckets for `method`; `None` stands for every method no rule names.
    fn build(rules: &[Rule], method: Option<&str>) -> Self {
        let for_method: Vec<(usize, &Rule)> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| match (&r.methods, method) {
                (None, _) => true,
                (Some(ms), Some(m)) => ms.iter().any(|x| **x == *m),
                (Some(_), None) => false,
            })
            .collect();
        let segments: BTreeSet<String> = for_method
            .iter()
            .flat_map(|(_, r)| r.paths.iter().flatten())
            .filter_map(|p| p.first_literal())
            .map(str::to_ascii_lowercase)
            .collect();
        let by_segment = segments
            .iter()
            .map(|s| {
                (
                    Box::from(&**s),
                    bucket(&for_method, FirstSegment::Literal(s)),
                )
            })
            .collect();
        Self {
            by_segment,
            other: bucket(&for_method, FirstSegment::Unlisted),
        }
    }
}

/// Which first path segments a bucket serves.
#[derive(Debug, Clone, Copy)]
enum FirstSegment<'a> {
    /// This segment, in lowercase: rules whose first literal folds to it.
    Literal(&'a str),
    /// Every segment that no rule names.
    Unlisted,
    /// Every segment (the linear scan of tests).
    #[cfg(test)]
    Any,
}

/// The bucket of `rules` for first path segment `segment`.
fn bucket(rules: &[(usize, &Rule)], segment: FirstSegment<'_>) -> Bucket {
    let mut deny = Vec::new();
    let mut allow = Vec::new();
    let mut dry_run = Vec::new();
    for (at, rule) in rules {
        let could_match = rule.paths.as_ref().is_none_or(|paths| {
            paths.iter().any(|p| match (p.first_literal(), segment) {
                (None, _) => true,
                #[cfg(test)]
                (_, FirstSegment::Any) => true,
                (Some(first), FirstSegment::Literal(s)) => first.eq_ignore_ascii_case(s),
                (Some(_), FirstSegment::Unlisted) => false,
            })
        });
        if !could_match {
            continue;
        }
        let at = u32::try_from(*at).unwrap_or(u32::MAX);
        match (rule.dry_run, rule.effect) {
            (true, _) => dry_run.push(at),
            (false, Effect::Deny) => deny.push(at),
            (false, Effect::Allow) => allow.push(at),
        }
    }
    Bucket {
        deny: deny.into(),
        allow: allow.into(),
        dry_run: dry_run.into(),
    }
}

/// FNV-1a: method names and path segments are short, and the index is built from the
/// policy, not from request input, so a keyed hash buys nothing here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FnvHasher(u64);

type Fnv = BuildHasherDefault<FnvHasher>;

impl Default for FnvHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
