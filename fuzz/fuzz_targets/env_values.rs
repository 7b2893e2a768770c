//! Environment values: each input line sets one variable (its first byte picks the name,
//! the rest is the value), read by the settings, the server configuration, the custom
//! headers parser, the netrc reader and the project name parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

const VARIABLES: &[&str] = &[
    "WEAVE_DISABLED",
    "WEAVE_PRINT_CALL_LINK",
    "WEAVE_CAPTURE_CODE",
    "WEAVE_PARALLELISM",
    "WEAVE_MAX_CALLS_QUEUE_SIZE",
    "WEAVE_FLUSH_TIMEOUT",
    "WEAVE_ENABLE_DISK_FALLBACK",
    "WEAVE_LOCAL_STORE_PATH",
    "WEAVE_JSONL_PATH",
    "WEAVE_CAPTURE_CLIENT_INFO",
    "WEAVE_CAPTURE_SYSTEM_INFO",
    "WEAVE_HTTP_TIMEOUT",
    "WEAVE_INSECURE_DISABLE_SSL",
    "WEAVE_USE_CALLS_COMPLETE",
    "WEAVE_TRACE_CUSTOM_HEADERS",
    "WANDB_API_KEY",
    "WANDB_BASE_URL",
    "WANDB_PUBLIC_BASE_URL",
    "WANDB_APP_URL",
    "WF_TRACE_SERVER_URL",
    "WANDB_RUN_ID",
    "WANDB_ENTITY",
    "WEAVE_PROJECT",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut env = HashMap::new();
    for line in text.lines() {
        let mut chars = line.chars();
        if let Some(first) = chars.next() {
            env.insert(VARIABLES[first as usize % VARIABLES.len()], chars.as_str().to_string());
        }
    }
    let get = |name: &str| env.get(name).cloned();
    let mut settings = weave_core::settings::Settings::default();
    let _ = settings.apply_env_from(get);
    weave_exporter::__fuzz::server_environment(get, &text);
    weave_exporter::__fuzz::netrc(&text, "api.wandb.ai");
    let _ = weave_core::project::ProjectId::parse(&text, "entity");
});
