//! A small `--flag value` parser, so the examples need no argument-parsing crate.

use std::collections::BTreeMap;

/// Flags given as `--name value` or `--name` (a switch), plus positional arguments.
#[derive(Debug, Default)]
pub struct Args {
    flags: BTreeMap<String, Option<String>>,
    positional: Vec<String>,
}

impl Args {
    /// Parses `args` (without the program name); `switches` name the flags without a value.
    ///
    /// # Errors
    ///
    /// When a flag that takes a value is last.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        switches: &[&str],
    ) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                parsed.positional.push(arg);
                continue;
            };
            let value = if switches.contains(&name) {
                None
            } else {
                Some(args.next().ok_or(format!("--{name} needs a value"))?)
            };
            parsed.flags.insert(name.to_owned(), value);
        }
        Ok(parsed)
    }

    /// The value of `--name`.
    ///
    /// # Errors
    ///
    /// When the flag is missing.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.optional(name).ok_or(format!("--{name} is required"))
    }

    /// The value of `--name`, if given.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(Option::as_deref)
    }

    /// Whether the switch `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }

    /// The positional arguments.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn flags_switches_and_positionals_are_told_apart() {
        let parsed = Args::parse(args("--cert a.pem --verbose /orders --key b"), &["verbose"]);
        let parsed = parsed.unwrap();
        assert_eq!(parsed.required("cert"), Ok("a.pem"));
        assert_eq!(parsed.optional("key"), Some("b"));
        assert!(parsed.switch("verbose"));
        assert_eq!(parsed.positional(), ["/orders"]);
        assert!(parsed.required("jwks").is_err());
    }

    #[test]
    fn flag_without_its_value_is_an_error() {
        assert!(Args::parse(args("--cert"), &[]).is_err());
    }
}
