//! The policy file as written, before it is checked and compiled.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

/// A list as written, with the span of each entry.
pub(crate) type SpannedList = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    #[serde(default)]
    pub(crate) policy: Settings,
    #[serde(default, rename = "rule")]
    pub(crate) rules: Vec<Spanned<RuleConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) revision: Option<String>,
    #[serde(default)]
    pub(crate) role_claims: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EffectConfig {
    Allow,
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleConfig {
    pub(crate) name: Spanned<String>,
    pub(crate) effect: EffectConfig,
    #[allow(dead_code, reason = "documentation for the policy's reader only")]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) dry_run: bool,
    #[serde(default)]
    pub(crate) audit: bool,

    // Who.
    pub(crate) anyone: Option<Spanned<bool>>,
    pub(crate) authenticated: Option<Spanned<bool>>,
    pub(crate) peers: Option<SpannedList>,
    pub(crate) trust_domains: Option<SpannedList>,
    pub(crate) issuers: Option<SpannedList>,
    pub(crate) subjects: Option<SpannedList>,
    pub(crate) roles: Option<SpannedList>,

    // What.
    pub(crate) methods: Option<SpannedList>,
    pub(crate) paths: Option<SpannedList>,
    pub(crate) hosts: Option<SpannedList>,
    pub(crate) headers: Option<Spanned<BTreeMap<String, OneOrMany>>>,

    // When.
    #[serde(default)]
    pub(crate) when: Vec<Spanned<ConditionConfig>>,
    pub(crate) not_before: Option<Spanned<Datetime>>,
    pub(crate) not_after: Option<Spanned<Datetime>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionConfig {
    pub(crate) claim: Option<String>,
    pub(crate) attribute: Option<String>,
    pub(crate) request_attribute: Option<String>,

    pub(crate) equals: Option<toml::Value>,
    pub(crate) one_of: Option<Vec<toml::Value>>,
    pub(crate) contains: Option<toml::Value>,
    pub(crate) exists: Option<bool>,
    pub(crate) gt: Option<f64>,
    pub(crate) ge: Option<f64>,
    pub(crate) lt: Option<f64>,
    pub(crate) le: Option<f64>,
}
