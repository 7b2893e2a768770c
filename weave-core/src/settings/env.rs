//! How environment variables are read: the one call to the process environment
//! ([`process_var`]), the Python SDK's value rules ([`parse_bool`], [`parse_seconds`]) and
//! [`EnvReader`], which applies a variable to a field or records an [`EnvWarning`] naming
//! the variable, the value and what is used instead.

use std::path::PathBuf;
use std::time::Duration;

/// A problem with one environment variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWarning {
    /// The variable's name.
    pub var: &'static str,
    /// The value found.
    pub value: String,
    /// What is used instead, in words.
    pub default: String,
    /// What the variable accepts.
    pub expected: &'static str,
}

impl std::fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "weave: ignoring {}={:?}: expected {}; using {}", self.var, self.value, self.expected, self.default)
    }
}

/// Parses a Weave boolean: `yes|true|1|on` are true, `no|false|0|off` (and an empty
/// value) false, case-insensitive.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "on" => Some(true),
        "no" | "false" | "0" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Parses a number of seconds (`"2.5"`); `None` for text, negative numbers, infinities,
/// NaN and values too large for a [`Duration`] (`"1e300"`, found by fuzzing).
pub fn parse_seconds(value: &str) -> Option<Duration> {
    value.trim().parse::<f64>().ok().and_then(|secs| Duration::try_from_secs_f64(secs).ok())
}

/// A variable of the process environment (`None` when unset or not UTF-8). The settings
/// module's `from_env` functions read the environment through this one function.
pub(crate) fn process_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The accepted-values text of boolean variables.
const BOOL_VALUES: &str = "one of yes|true|1|on|no|false|0|off";

/// Reads variables through a lookup (the process environment, or fixed pairs in tests)
/// into fields, collecting a warning for each invalid value (the field keeps its value).
pub(crate) struct EnvReader<G> {
    get: G,
    warnings: Vec<EnvWarning>,
}

impl<G: Fn(&str) -> Option<String>> EnvReader<G> {
    /// A reader over `get`.
    pub(crate) fn new(get: G) -> EnvReader<G> {
        EnvReader { get, warnings: Vec::new() }
    }

    /// The variable's value as found (`None` when unset).
    pub(crate) fn raw(&self, var: &str) -> Option<String> {
        (self.get)(var)
    }

    /// The variable's value, unless it is unset or blank.
    pub(crate) fn text(&self, var: &str) -> Option<String> {
        self.raw(var).filter(|v| !v.trim().is_empty())
    }

    /// The variable's value as a path, unless it is unset or blank.
    pub(crate) fn path(&self, var: &str) -> Option<PathBuf> {
        self.text(var).map(PathBuf::from)
    }

    /// Sets `field` from a boolean variable ([`parse_bool`]).
    pub(crate) fn bool(&mut self, var: &'static str, field: &mut bool) {
        let Some(value) = self.raw(var) else { return };
        match parse_bool(&value) {
            Some(b) => *field = b,
            None => self.warn(var, value, field.to_string(), BOOL_VALUES),
        }
    }

    /// Sets `field` from a whole-number variable of at least `min`.
    pub(crate) fn usize(&mut self, var: &'static str, field: &mut usize, min: usize) {
        let Some(value) = self.raw(var) else { return };
        match value.trim().parse::<usize>() {
            Ok(n) if n >= min => *field = n,
            _ => {
                let expected = if min == 0 { "a whole number" } else { "a whole number of at least 1" };
                self.warn(var, value, field.to_string(), expected)
            }
        }
    }

    /// Sets `field` from a number of seconds ([`parse_seconds`]); `zero_allowed: false`
    /// refuses `0`. `default` says the field's value in the warning.
    pub(crate) fn seconds(&mut self, var: &'static str, field: &mut Duration, zero_allowed: bool, default: String) {
        let Some(value) = self.raw(var) else { return };
        match parse_seconds(&value).filter(|d| zero_allowed || !d.is_zero()) {
            Some(duration) => *field = duration,
            None => {
                let expected = if zero_allowed { "a number of seconds" } else { "a positive number of seconds" };
                self.warn(var, value, default, expected)
            }
        }
    }

    fn warn(&mut self, var: &'static str, value: String, default: String, expected: &'static str) {
        self.warnings.push(EnvWarning { var, value, default, expected });
    }

    /// The warnings collected.
    pub(crate) fn into_warnings(self) -> Vec<EnvWarning> {
        self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env_lookup as env;

    #[test]
    fn blank_values_are_unset_for_text_and_paths_only() {
        let reader = EnvReader::new(env(&[("A", " "), ("B", "x")]));
        assert_eq!((reader.text("A"), reader.path("A")), (None, None));
        assert_eq!(reader.raw("A").as_deref(), Some(" "));
        assert_eq!(reader.path("B"), Some(PathBuf::from("x")));
        let mut reader = EnvReader::new(env(&[("FLAG", "")]));
        let mut flag = true;
        reader.bool("FLAG", &mut flag);
        assert!(!flag, "an empty boolean is false, as in Python");
    }

    #[test]
    fn seconds_refuse_zero_when_asked() {
        let mut reader = EnvReader::new(env(&[("T", "0")]));
        let mut t = Duration::from_secs(30);
        reader.seconds("T", &mut t, false, "30".to_string());
        assert_eq!(t, Duration::from_secs(30));
        let warnings = reader.into_warnings();
        assert_eq!(warnings[0].to_string(), "weave: ignoring T=\"0\": expected a positive number of seconds; using 30");
    }
}
