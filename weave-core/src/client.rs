//! A client: the project calls are recorded in, the settings and capture limits in force,
//! the exporter calls go to, and the calls open on it that may end on another thread.
//! Installing one, and shutting it down, is [`crate::runtime`]; the installed one is reached
//! through the switch (`switch.rs`).

use crate::call::CallStart;
use crate::capture::CaptureConfig;
use crate::export::Exporter;
use crate::ids::Id;
use crate::json::JsonObject;
use crate::open_calls::{OpenCall, OpenCalls};
use crate::project::ProjectId;
use crate::settings::Settings;
use std::sync::{Arc, Weak};

/// Makes the link printed for a root call (`None`: print nothing).
pub type CallLinkFn = dyn Fn(&Id) -> Option<String> + Send + Sync;

/// A started client: where calls go and how they are captured.
pub struct Client {
    project_id: ProjectId,
    project_id_text: String,
    settings: Settings,
    capture: CaptureConfig,
    exporter: Arc<dyn Exporter>,
    weave_attributes_sync: Option<&'static JsonObject>,
    weave_attributes_async: Option<&'static JsonObject>,
    wb_run_id: Option<&'static str>,
    call_link: Option<Box<CallLinkFn>>,
    open_calls: OpenCalls,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("project_id", &self.project_id_text).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for a project, writing through `exporter`.
    pub fn new(project_id: ProjectId, settings: Settings, exporter: Arc<dyn Exporter>) -> Client {
        let capture = CaptureConfig {
            max_value_bytes: settings.max_value_bytes,
            redact_keys: settings.redact_keys.iter().map(|k| k.to_ascii_lowercase()).collect(),
            ..CaptureConfig::default()
        };
        let weave_attributes = |kind: &str| {
            let info = crate::system_info::weave_attributes(&settings, kind);
            if info.is_empty() {
                None
            } else {
                Some(crate::interned::object(info))
            }
        };
        let wb_run_id = settings
            .wandb_run_id
            .as_ref()
            .map(|run| crate::interned::str(&format!("{}/{}/{}", project_id.entity(), project_id.project(), run)));
        Client {
            project_id_text: project_id.to_string(),
            project_id,
            weave_attributes_sync: weave_attributes("function"),
            weave_attributes_async: weave_attributes("async_function"),
            capture,
            settings,
            exporter,
            wb_run_id,
            call_link: None,
            open_calls: OpenCalls::new(),
        }
    }

    /// Sets how a root call's link is printed (`None` from the function: print nothing).
    pub fn with_call_link(mut self, link: impl Fn(&Id) -> Option<String> + Send + Sync + 'static) -> Client {
        self.call_link = Some(Box::new(link));
        self
    }

    /// The client's identity (its address).
    pub(crate) fn key(&self) -> usize {
        self as *const Client as usize
    }

    /// The project.
    pub fn project_id(&self) -> &ProjectId {
        &self.project_id
    }

    /// The project as `entity/project`.
    pub fn project_id_str(&self) -> &str {
        &self.project_id_text
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The capture limits and redaction rules.
    pub fn capture_config(&self) -> &CaptureConfig {
        &self.capture
    }

    /// The exporter calls go to.
    pub fn exporter(&self) -> &Arc<dyn Exporter> {
        &self.exporter
    }

    pub(crate) fn weave_attributes(&self, is_async: bool) -> Option<&'static JsonObject> {
        if is_async {
            self.weave_attributes_async
        } else {
            self.weave_attributes_sync
        }
    }

    pub(crate) fn wb_run_id(&self) -> Option<&'static str> {
        self.wb_run_id
    }

    pub(crate) fn print_call_link(&self, id: &Id) {
        if !self.settings.print_call_link {
            return;
        }
        if let Some(link) = self.call_link.as_ref().and_then(|f| f(id)) {
            crate::warn!("🍩 {link}");
        }
    }

    /// Lists a call that may end on another thread (an async or manual call).
    pub(crate) fn register_open(&self, id: Id, call: Weak<dyn OpenCall>) {
        self.open_calls.register(id, call);
    }

    /// Unlists such a call once it has ended.
    pub(crate) fn unregister_open(&self, id: &Id) {
        self.open_calls.unregister(id);
    }

    /// Takes the starts of the calls listed as open that are still running (for a shutdown).
    pub(crate) fn drain_open_calls(&self) -> Vec<CallStart> {
        self.open_calls.drain()
    }
}
