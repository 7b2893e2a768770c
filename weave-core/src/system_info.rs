//! The reserved `weave` attributes every call carries: client info (`source`,
//! `client_version`, `sys_version`) and system info (`os_name`, `os_version`,
//! `os_release`), each switchable in the settings.

use crate::json::JsonObject;
use crate::settings::Settings;
use serde_json::Value;
use std::sync::OnceLock;

/// The `source` this client writes, as `python-sdk` for the Python client.
pub const SOURCE: &str = "rust-sdk";

/// This crate's version, written as `client_version`.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The compiler that built this crate, written as `sys_version`.
pub const RUST_VERSION: &str = env!("WEAVE_RUSTC_VERSION");

/// `os_name`, `os_version`, `os_release` as Python's `platform.system()`, `.version()`
/// and `.release()` give them.
pub fn os_info() -> &'static (String, String, String) {
    static INFO: OnceLock<(String, String, String)> = OnceLock::new();
    INFO.get_or_init(|| {
        let name = match std::env::consts::OS {
            "linux" => "Linux",
            "macos" => "Darwin",
            "windows" => "Windows",
            "freebsd" => "FreeBSD",
            other => other,
        }
        .to_string();
        let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_string());
        let uname = |flag: &str| {
            std::process::Command::new("uname")
                .arg(flag)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
        };
        let release = read("/proc/sys/kernel/osrelease").or_else(|| uname("-r")).unwrap_or_default();
        let version = read("/proc/sys/kernel/version").or_else(|| uname("-v")).unwrap_or_default();
        (name, version, release)
    })
}

/// The `weave` attributes for calls of a function of the given type (`function` or
/// `async_function`), as the settings allow.
pub fn weave_attributes(settings: &Settings, function_type: &str) -> JsonObject {
    let mut out = JsonObject::new();
    if settings.capture_client_info {
        out.insert("source".into(), SOURCE.into());
        out.insert("client_version".into(), CLIENT_VERSION.into());
        out.insert("sys_version".into(), RUST_VERSION.into());
        let mut rust = JsonObject::new();
        rust.insert("type".into(), function_type.into());
        rust.insert("version".into(), RUST_VERSION.into());
        out.insert("rust".into(), Value::Object(rust));
    }
    if settings.capture_system_info {
        let (name, version, release) = os_info();
        out.insert("os_name".into(), name.as_str().into());
        out.insert("os_version".into(), version.as_str().into());
        out.insert("os_release".into(), release.as_str().into());
    }
    out
}
