//! [`Settings`]: what `init` is given, overridden by environment variables with the Python
//! SDK's names and semantics (booleans are `yes|true|1|on`, case-insensitive; the
//! environment wins over code). An invalid value prints one warning naming the variable,
//! the value and the default used instead.

use super::env::{process_var, EnvReader, EnvWarning};
use super::paths::{DEFAULT_LOCAL_STORE_PATH, LOCAL_STORE_PATH_VAR};
use std::path::PathBuf;
use std::time::Duration;

/// Client settings. Build with [`Settings::default`], change fields, and the environment
/// is applied on top when the client starts ([`Settings::apply_env`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `WEAVE_DISABLED`: ops are plain function calls; nothing is captured or sent.
    pub disabled: bool,
    /// `WEAVE_CAPTURE_CODE`: store the ops' source code (otherwise only a hash).
    pub capture_code: bool,
    /// `WEAVE_CAPTURE_CLIENT_INFO`: `attributes.weave.{source, client_version, sys_version}`.
    pub capture_client_info: bool,
    /// `WEAVE_CAPTURE_SYSTEM_INFO`: `attributes.weave.{os_name, os_version, os_release}`.
    pub capture_system_info: bool,
    /// `WEAVE_PRINT_CALL_LINK`: print a link (or where it is stored) for root calls.
    pub print_call_link: bool,
    /// `WEAVE_MAX_CALLS_QUEUE_SIZE`: the exporter queue's capacity (0 = unbounded).
    pub max_calls_queue_size: usize,
    /// `WEAVE_PARALLELISM`: how many rows an evaluation runs at once.
    pub parallelism: usize,
    /// `WEAVE_ENABLE_DISK_FALLBACK`: write items that cannot be delivered to the fallback file.
    pub enable_disk_fallback: bool,
    /// `WEAVE_FLUSH_TIMEOUT` (seconds): how long flushing at shutdown may take. When it
    /// runs out, the shutdown waits up to one second more for the batch the exporter was
    /// writing to be set aside in the fallback file, so that its report counts it.
    pub flush_timeout: Duration,
    /// `WEAVE_MAX_VALUE_BYTES`: one captured value's size limit before it is truncated.
    pub max_value_bytes: usize,
    /// `WEAVE_REDACT_KEYS` (comma-separated, added to the defaults): keys whose values are
    /// stored as `"REDACTED"`, case-insensitive.
    pub redact_keys: Vec<String>,
    /// `WEAVE_LOCAL_STORE_PATH`: the embedded store's database file (`None`: the default,
    /// [`DEFAULT_LOCAL_STORE_PATH`] in the working directory; see
    /// [`Settings::local_store_file`]).
    pub local_store_path: Option<PathBuf>,
    /// `WEAVE_JSONL_PATH`: write calls as JSON lines to this file (`-` for stdout)
    /// instead of the local store.
    pub jsonl_path: Option<PathBuf>,
    /// `WANDB_RUN_ID`: the W&B run calls belong to.
    pub wandb_run_id: Option<String>,
}

/// The keys redacted by default, as in Weave.
pub const DEFAULT_REDACT_KEYS: [&str; 3] = ["api_key", "auth_headers", "authorization"];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            disabled: false,
            capture_code: true,
            capture_client_info: true,
            capture_system_info: true,
            print_call_link: true,
            max_calls_queue_size: 100_000,
            parallelism: 20,
            enable_disk_fallback: true,
            flush_timeout: Duration::from_secs(30),
            max_value_bytes: 1 << 20,
            redact_keys: DEFAULT_REDACT_KEYS.iter().map(|k| k.to_string()).collect(),
            local_store_path: None,
            jsonl_path: None,
            wandb_run_id: None,
        }
    }
}

impl Settings {
    /// Applies the environment (read through `get`) on top of these settings and returns
    /// the warnings for invalid values. The environment wins over code.
    pub fn apply_env_from(&mut self, get: impl Fn(&str) -> Option<String>) -> Vec<EnvWarning> {
        let mut env = EnvReader::new(get);
        env.bool("WEAVE_DISABLED", &mut self.disabled);
        env.bool("WEAVE_CAPTURE_CODE", &mut self.capture_code);
        env.bool("WEAVE_CAPTURE_CLIENT_INFO", &mut self.capture_client_info);
        env.bool("WEAVE_CAPTURE_SYSTEM_INFO", &mut self.capture_system_info);
        env.bool("WEAVE_PRINT_CALL_LINK", &mut self.print_call_link);
        env.bool("WEAVE_ENABLE_DISK_FALLBACK", &mut self.enable_disk_fallback);
        env.usize("WEAVE_MAX_CALLS_QUEUE_SIZE", &mut self.max_calls_queue_size, 0);
        env.usize("WEAVE_PARALLELISM", &mut self.parallelism, 1);
        env.usize("WEAVE_MAX_VALUE_BYTES", &mut self.max_value_bytes, 64);
        let flush_default = format!("{} s", self.flush_timeout.as_secs_f64());
        env.seconds("WEAVE_FLUSH_TIMEOUT", &mut self.flush_timeout, true, flush_default);
        if let Some(value) = env.raw("WEAVE_REDACT_KEYS") {
            for key in value.split(',').map(|k| k.trim().to_ascii_lowercase()).filter(|k| !k.is_empty()) {
                if !self.redact_keys.contains(&key) {
                    self.redact_keys.push(key);
                }
            }
        }
        if let Some(path) = env.path(LOCAL_STORE_PATH_VAR) {
            self.local_store_path = Some(path);
        }
        if let Some(path) = env.path("WEAVE_JSONL_PATH") {
            self.jsonl_path = Some(path);
        }
        if let Some(run_id) = env.text("WANDB_RUN_ID") {
            self.wandb_run_id = Some(run_id);
        }
        env.into_warnings()
    }

    /// Applies the process environment and prints a one-line warning per invalid value.
    pub fn apply_env(&mut self) {
        for warning in self.apply_env_from(process_var) {
            crate::warn!("{warning}");
        }
    }

    /// The settings from the environment alone.
    pub fn from_env() -> Settings {
        let mut settings = Settings::default();
        settings.apply_env();
        settings
    }

    /// The local store's database file: [`Settings::local_store_path`], else
    /// [`DEFAULT_LOCAL_STORE_PATH`] (relative to the working directory).
    pub fn local_store_file(&self) -> PathBuf {
        self.local_store_path.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LOCAL_STORE_PATH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env_lookup as env;

    #[test]
    fn booleans_follow_python_semantics() {
        for (value, expected) in [("yes", true), ("TRUE", true), ("1", true), ("On", true), ("no", false), ("0", false)]
        {
            let mut s = Settings::default();
            assert!(s.apply_env_from(env(&[("WEAVE_DISABLED", value)])).is_empty());
            assert_eq!(s.disabled, expected, "{value}");
        }
    }

    #[test]
    fn env_overrides_code() {
        let mut s = Settings { capture_code: true, parallelism: 3, ..Settings::default() };
        s.apply_env_from(env(&[("WEAVE_CAPTURE_CODE", "false"), ("WEAVE_PARALLELISM", "7")]));
        assert!(!s.capture_code);
        assert_eq!(s.parallelism, 7);
    }

    #[test]
    fn invalid_values_warn_and_keep_the_default() {
        let mut s = Settings::default();
        let warnings = s.apply_env_from(env(&[
            ("WEAVE_DISABLED", "maybe"),
            ("WEAVE_MAX_CALLS_QUEUE_SIZE", "lots"),
            ("WEAVE_PARALLELISM", "0"),
        ]));
        assert_eq!(warnings.len(), 3);
        assert!(!s.disabled);
        assert_eq!(s.max_calls_queue_size, 100_000);
        let line = warnings[0].to_string();
        assert!(line.contains("WEAVE_DISABLED") && line.contains("maybe") && line.contains("false"), "{line}");
    }

    #[test]
    fn timeouts_that_do_not_fit_a_duration_warn() {
        // Found by fuzzing (`fuzz/`): this used to panic.
        for bad in ["1e300", "-1", "inf", "NaN"] {
            let mut s = Settings::default();
            let warnings = s.apply_env_from(env(&[("WEAVE_FLUSH_TIMEOUT", bad)]));
            assert_eq!(warnings.len(), 1, "{bad}");
            assert_eq!(s.flush_timeout, Settings::default().flush_timeout);
        }
        let mut s = Settings::default();
        s.apply_env_from(env(&[("WEAVE_FLUSH_TIMEOUT", "2.5")]));
        assert_eq!(s.flush_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn redact_keys_extend_the_defaults() {
        let mut s = Settings::default();
        s.apply_env_from(env(&[("WEAVE_REDACT_KEYS", "Password, token")]));
        assert!(s.redact_keys.contains(&"password".to_string()));
        assert!(s.redact_keys.contains(&"api_key".to_string()));
    }
}
