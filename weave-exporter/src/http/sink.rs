//! [`WeaveServerSink`]: a [`Sink`] writing to a Weave trace server, wire-compatible with
//! the Python SDK.
//!
//! For each batch, on the exporter's worker thread:
//! 1. start-up once (`/server_info`, the W&B project; see [`super::startup`]);
//! 2. the ops of the batch's calls not saved yet by this process (`/file/create`,
//!    `/obj/create`), then published objects (`/obj/create`);
//! 3. calls: eager starts (and calls left open at shutdown) through
//!    `/v2/{e}/{p}/call/start`; finished calls through `/v2/{e}/{p}/calls/complete`
//!    (up to 1000 calls or 31 MiB per request), except the ends of eagerly started calls,
//!    which go through `/v2/{e}/{p}/call/end`. With `WEAVE_USE_CALLS_COMPLETE=false`, or
//!    when the server does not know the v2 routes, everything goes through
//!    `/call/upsert_batch` instead;
//! 4. feedback through `/feedback/batch/create` (`/feedback/create` one by one when the
//!    server lacks the batch route).
//!
//! A retryable failure (server down, 429, 5xx) fails the batch as retryable: the worker
//! retries it with backoff, and items already delivered in an earlier attempt are not
//! sent again. Items the server refuses one by one (a 400/422 isolated by splitting, a
//! 413 for a single item, other 4xx) are handed back through [`Sink::take_rejected`], so
//! the worker writes them to the fallback file; the rest of the batch goes through.

use super::batch::{post_batches, Encoded, Limits, Outcome, Stop};
use super::client::{Failure, FailureKind, HttpClient};
use super::config::ServerConfig;
use super::objects::{save_object, save_op, save_table};
use super::routes::{self, wrap, CallSource};
use super::startup;
use crate::config::DEFAULT_MAX_BATCH_BYTES;
use crate::fallback::entry::FallbackEntry;
use crate::item::{record_of, ItemKind};
use crate::sink::{Sink, SinkError};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use weave_core::export::ExportItem;
use weave_core::op::{OpDef, OpHandle};
use weave_core::refs::RefForm;
use weave_core::store_ref_form::StoreRefForm;

/// Calls per `calls/complete` (or `upsert_batch`, feedback) request, as in Weave.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// What identifies an item across retries of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Call(ItemKind, String),
    Object(String),
    Table(String),
    Feedback(String),
}

/// One item of a batch, from a live [`ExportItem`] or a fallback-file entry.
enum Work<'a> {
    Call {
        index: usize,
        kind: ItemKind,
        call: CallSource<'a>,
        project_id: &'a str,
    },
    Object {
        index: usize,
        project_id: &'a str,
        name: &'a str,
        digest: &'a str,
        val: &'a Value,
    },
    /// `table` is the `/table/create` table object.
    Table {
        index: usize,
        digest: String,
        table: Value,
    },
    Feedback {
        index: usize,
        id: String,
        wire: Value,
    },
}

impl Work<'_> {
    fn index(&self) -> usize {
        match self {
            Work::Call { index, .. }
            | Work::Object { index, .. }
            | Work::Table { index, .. }
            | Work::Feedback { index, .. } => *index,
        }
    }

    fn key(&self) -> Key {
        match self {
            Work::Call { kind, call, .. } => Key::Call(*kind, call.id()),
            Work::Object { name, digest, .. } => Key::Object(format!("{name}:{digest}")),
            Work::Table { digest, .. } => Key::Table(digest.clone()),
            Work::Feedback { id, .. } => Key::Feedback(id.clone()),
        }
    }

    /// Names the item in messages (ids, never values).
    fn label(&self) -> String {
        match self {
            Work::Call { call, .. } => format!("call {}", call.id()),
            Work::Object { name, digest, .. } => format!("object {name}:{digest}"),
            Work::Table { digest, .. } => format!("table {digest}"),
            Work::Feedback { id, wire, .. } => {
                format!("feedback {id} on {}", wire.get("weave_ref").and_then(Value::as_str).unwrap_or("?"))
            }
        }
    }
}

/// A sink writing to a Weave trace server. Build it anywhere; it connects on the first
/// batch, from the thread that writes (the exporter's worker). Its HTTP client is
/// blocking: do not write to it (or replay into it) from an async runtime's thread.
pub struct WeaveServerSink {
    config: ServerConfig,
    project_id: String,
    client: Option<HttpClient>,
    started: bool,
    down_reported: bool,
    legacy: bool,
    feedback_single: bool,
    saved_ops: HashSet<String>,
    eager_started: HashSet<String>,
    delivered: HashSet<Key>,
    rejected: Vec<(usize, Key, SinkError)>,
    deadline: Option<Instant>,
    limits: Limits,
    ref_form: StoreRefForm,
    idle_start_tried: bool,
}

impl std::fmt::Debug for WeaveServerSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeaveServerSink")
            .field("config", &self.config)
            .field("project_id", &self.project_id)
            .field("legacy", &self.legacy)
            .finish_non_exhaustive()
    }
}

impl WeaveServerSink {
    /// A sink writing calls of `project_id` (`entity/project`) to the server of `config`.
    pub fn new(config: ServerConfig, project_id: impl Into<String>) -> WeaveServerSink {
        if let Some(warning) = config.transport_warning() {
            weave_core::warn!("weave: {warning}");
        }
        let legacy = !config.use_calls_complete;
        WeaveServerSink {
            config,
            project_id: project_id.into(),
            client: None,
            started: false,
            down_reported: false,
            legacy,
            feedback_single: false,
            saved_ops: HashSet::new(),
            eager_started: HashSet::new(),
            delivered: HashSet::new(),
            rejected: Vec::new(),
            deadline: None,
            limits: Limits { max_items: MAX_BATCH_ITEMS, max_bytes: DEFAULT_MAX_BATCH_BYTES },
            ref_form: StoreRefForm::pending(),
            idle_start_tried: false,
        }
    }

    /// Changes the per-request limits (default 1000 items, 31 MiB).
    pub fn with_request_limits(mut self, max_items: usize, max_bytes: usize) -> WeaveServerSink {
        self.limits = Limits { max_items: max_items.max(1), max_bytes: max_bytes.max(1) };
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Delivers one batch of work items; see the module docs.
    fn deliver(&mut self, work: &[Work<'_>], ops: Vec<(String, OpHandle)>) -> Result<(), SinkError> {
        // Refusals recorded by an earlier attempt of this same batch stay; others are stale.
        let keys: HashMap<usize, Key> = work.iter().map(|w| (w.index(), w.key())).collect();
        self.rejected.retain(|(index, key, _)| keys.get(index) == Some(key));
        if self.delivered.len() > 4 * MAX_BATCH_ITEMS + work.len() {
            self.delivered.retain(|k| keys.values().any(|key| key == k));
        }
        self.connect()?;
        self.save_ops(ops)?;
        self.save_tables(work)?;
        self.save_objects(work)?;
        self.write_calls(work)?;
        self.send_feedback(work)?;
        if self.down_reported {
            weave_core::warn!("weave: the trace server at {} answers again", self.config.trace_url);
            self.down_reported = false;
        }
        self.delivered.clear();
        Ok(())
    }

    /// Builds the HTTP client and runs start-up, once.
    fn connect(&mut self) -> Result<(), SinkError> {
        if self.client.is_none() {
            let mut client = HttpClient::new(&self.config).map_err(SinkError::permanent)?;
            client.set_deadline(self.deadline);
            self.client = Some(client);
        }
        if self.started {
            return Ok(());
        }
        let Some(client) = &self.client else { return Ok(()) };
        match startup::start(client, &self.config, &self.project_id) {
            Ok(_) => {
                self.learn_ref_form()?;
                self.started = true;
            }
            Err(e) if e.retryable => {
                let failure = Failure { kind: FailureKind::Retryable, message: e.message, error_code: None };
                return Err(self.retry(failure));
            }
            Err(e) => {
                weave_core::warn!(
                    "weave: start-up with the W&B server did not succeed: {}; sending calls anyway",
                    e.message
                );
                self.started = true;
            }
        }
        Ok(())
    }

    /// Asks the server for the project's internal id, which the digests of values holding
    /// refs depend on; publishers wait for the answer ([`Sink::ref_form`]).
    fn learn_ref_form(&mut self) -> Result<(), SinkError> {
        let Some(client) = &self.client else { return Ok(()) };
        match startup::internal_project_id(client, &self.project_id) {
            Ok(Some(internal)) => self.ref_form.set(Ok(RefForm::internal(&self.project_id, &internal))),
            Ok(None) => self.ref_form.set(Err(format!(
                "the trace server at {} does not tell the internal id of project {} (/service/projects_info)",
                self.config.trace_url, self.project_id
            ))),
            Err(f) if f.kind == FailureKind::Retryable => return Err(self.retry(f)),
            Err(f) => self.ref_form.set(Err(format!(
                "the trace server did not tell the internal id of project {}: {}",
                self.project_id, f.message
            ))),
        }
        Ok(())
    }

    /// A retryable sink error for `failure`; says once that the server is not answering.
    fn retry(&mut self, failure: Failure) -> SinkError {
        if !self.down_reported {
            weave_core::warn!(
                "weave: the trace server at {} did not take the calls ({}); they wait in the queue and are retried",
                self.config.trace_url,
                failure.message
            );
            self.down_reported = true;
        }
        SinkError::retryable(failure.message)
    }

    fn client(&self) -> Result<&HttpClient, SinkError> {
        self.client.as_ref().ok_or_else(|| SinkError::permanent("the HTTP client is not set up"))
    }

    fn is_delivered(&self, w: &Work<'_>) -> bool {
        self.delivered.contains(&w.key())
    }

    fn refuse(&mut self, w: &Work<'_>, message: &str) {
        let key = w.key();
        let error = SinkError::permanent(format!("the server refused {}: {message}", w.label()));
        if !self.rejected.iter().any(|(_, k, _)| *k == key) {
            self.rejected.push((w.index(), key.clone(), error));
        }
        self.delivered.insert(key);
    }

    fn save_ops(&mut self, ops: Vec<(String, OpHandle)>) -> Result<(), SinkError> {
        for (project_id, op) in ops {
            let op_ref = op.ref_uri(&project_id);
            if self.saved_ops.contains(&op_ref) {
                continue;
            }
            match save_op(self.client()?, &project_id, &op) {
                Ok(()) => {}
                Err(f) if f.kind == FailureKind::Retryable => return Err(self.retry(f)),
                Err(f) => weave_core::warn!(
                    "weave: could not save op {} ({}); its calls are sent with a ref that will not resolve",
                    op.name(),
                    f.message
                ),
            }
            self.saved_ops.insert(op_ref);
        }
        Ok(())
    }

    fn save_tables(&mut self, work: &[Work<'_>]) -> Result<(), SinkError> {
        for w in work {
            let Work::Table { digest, table, .. } = w else { continue };
            if self.is_delivered(w) {
                continue;
            }
            match save_table(self.client()?, table, digest) {
                Ok(()) => {
                    self.delivered.insert(w.key());
                }
                Err(f) if f.kind == FailureKind::Retryable => return Err(self.retry(f)),
                Err(f) => self.refuse(w, &f.message),
            }
        }
        Ok(())
    }

    fn save_objects(&mut self, work: &[Work<'_>]) -> Result<(), SinkError> {
        for w in work {
            let Work::Object { project_id, name, digest, val, .. } = w else { continue };
            if self.is_delivered(w) {
                continue;
            }
            match save_object(self.client()?, project_id, name, digest, val) {
                Ok(()) => {
                    self.delivered.insert(w.key());
                }
                Err(f) if f.kind == FailureKind::Retryable => return Err(self.retry(f)),
                Err(f) => self.refuse(w, &f.message),
            }
        }
        Ok(())
    }

    fn write_calls(&mut self, work: &[Work<'_>]) -> Result<(), SinkError> {
        let mut switches = 0;
        loop {
            let result = if self.legacy { self.write_calls_legacy(work) } else { self.write_calls_v2(work) };
            match result {
                Ok(()) => return Ok(()),
                Err(Stop::Retry(f)) => return Err(self.retry(f)),
                Err(Stop::RouteMissing(f)) if !self.legacy && switches < 2 => {
                    weave_core::warn!(
                        "weave: the trace server has no v2 call routes ({}); using /call/upsert_batch",
                        f.message
                    );
                    self.legacy = true;
                    switches += 1;
                }
                Err(Stop::CompleteModeRequired) if self.legacy && switches < 2 => {
                    self.legacy = false;
                    switches += 1;
                }
                Err(stop) => {
                    let message = match stop {
                        Stop::RouteMissing(f) | Stop::Retry(f) => f.message,
                        Stop::CompleteModeRequired => "the server requires calls/complete".to_string(),
                    };
                    for w in work.iter().filter(|w| matches!(w, Work::Call { .. })) {
                        if !self.is_delivered(w) {
                            self.refuse(w, &message);
                        }
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Sends one call start or end through a v2 single-call route.
    fn post_single(
        &mut self,
        w: &Work<'_>,
        path: &str,
        body: Result<Vec<u8>, String>,
        trace_id: &str,
    ) -> Result<bool, Stop> {
        let body = match body {
            Ok(body) => body,
            Err(message) => {
                self.refuse(w, &message);
                return Ok(false);
            }
        };
        let headers = [("x-weave-trace-id", trace_id.to_string())];
        let client = self.client.as_ref().ok_or_else(|| Stop::Retry(Failure::local("no HTTP client".into())))?;
        match client.post_json(path, &body, &headers) {
            Ok(_) => {
                self.delivered.insert(w.key());
                Ok(true)
            }
            Err(f) => match f.kind {
                FailureKind::Retryable => Err(Stop::Retry(f)),
                FailureKind::NotFound => Err(Stop::RouteMissing(f)),
                _ => {
                    self.refuse(w, &f.message);
                    Ok(false)
                }
            },
        }
    }

    fn write_calls_v2(&mut self, work: &[Work<'_>]) -> Result<(), Stop> {
        // Eager starts, and calls left open at shutdown that nobody started yet.
        for w in work {
            let Work::Call { kind, call, project_id, .. } = w else { continue };
            if !matches!(kind, ItemKind::CallStarted | ItemKind::CallUnfinished) || self.is_delivered(w) {
                continue;
            }
            let id = call.id();
            if *kind == ItemKind::CallUnfinished && self.eager_started.contains(&id) {
                self.delivered.insert(w.key());
                continue;
            }
            let body = call.start(project_id).map(|b| wrap("start", &b));
            if self.post_single(w, &routes::call_start(project_id), body, &call.trace_id())?
                && *kind == ItemKind::CallStarted
            {
                self.eager_started.insert(id);
            }
        }
        // Finished calls not started eagerly: batched per project.
        let mut projects: Vec<&str> = Vec::new();
        for w in work {
            if let Work::Call { project_id, .. } = w {
                if !projects.contains(project_id) {
                    projects.push(project_id);
                }
            }
        }
        for project in projects {
            let mut items = Vec::new();
            for (owner, w) in work.iter().enumerate() {
                let Work::Call { kind: ItemKind::CallFinished, call, project_id, .. } = w else { continue };
                if *project_id != project || self.is_delivered(w) || self.eager_started.contains(&call.id()) {
                    continue;
                }
                match call.complete(project_id) {
                    Ok(bytes) => items.push(Encoded { owner, bytes }),
                    Err(message) => self.refuse(w, &message),
                }
            }
            self.post_and_apply(&routes::calls_complete(project), &items, work)?;
        }
        // Ends of eagerly started calls.
        for w in work {
            let Work::Call { kind: ItemKind::CallFinished, call, project_id, .. } = w else { continue };
            let id = call.id();
            if self.is_delivered(w) || !self.eager_started.contains(&id) {
                continue;
            }
            let body = call.end(project_id).map(|b| wrap("end", &b));
            if self.post_single(w, &routes::call_end(project_id), body, &call.trace_id())? {
                self.eager_started.remove(&id);
            }
        }
        Ok(())
    }

    fn write_calls_legacy(&mut self, work: &[Work<'_>]) -> Result<(), Stop> {
        let mut items = Vec::new();
        // Calls whose start goes in this same request (an eager start and its end can
        // share a batch): their end is sent without a second start.
        let mut starting: HashSet<String> = HashSet::new();
        for (owner, w) in work.iter().enumerate() {
            let Work::Call { kind, call, project_id, .. } = w else { continue };
            if self.is_delivered(w) {
                continue;
            }
            let id = call.id();
            let started = self.eager_started.contains(&id) || starting.contains(&id);
            if *kind == ItemKind::CallStarted {
                starting.insert(id);
            }
            let mut parts: Vec<Result<Vec<u8>, String>> = Vec::new();
            match kind {
                ItemKind::CallStarted => parts.push(call.start(project_id).map(|b| routes::upsert_item("start", &b))),
                ItemKind::CallUnfinished if started => {
                    self.delivered.insert(w.key());
                }
                ItemKind::CallUnfinished => {
                    parts.push(call.start(project_id).map(|b| routes::upsert_item("start", &b)))
                }
                _ => {
                    if !started {
                        parts.push(call.start(project_id).map(|b| routes::upsert_item("start", &b)));
                    }
                    parts.push(call.end(project_id).map(|b| routes::upsert_item("end", &b)));
                }
            }
            match parts.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(parts) => items.extend(parts.into_iter().map(|bytes| Encoded { owner, bytes })),
                Err(message) => self.refuse(w, &message),
            }
        }
        self.post_and_apply(routes::UPSERT_BATCH, &items, work)
    }

    /// Posts encoded items of `work` and records what was delivered and refused; an
    /// owner counts as delivered once all of its items were accepted.
    fn post_and_apply(&mut self, path: &str, items: &[Encoded], work: &[Work<'_>]) -> Result<(), Stop> {
        if items.is_empty() {
            return Ok(());
        }
        let mut needed: HashMap<usize, usize> = HashMap::new();
        for item in items {
            *needed.entry(item.owner).or_default() += 1;
        }
        let mut outcome = Outcome::default();
        let client = self.client.as_ref().ok_or_else(|| Stop::Retry(Failure::local("no HTTP client".into())))?;
        let result = post_batches(client, path, items, self.limits, &mut outcome);
        let mut accepted: HashMap<usize, usize> = HashMap::new();
        for owner in outcome.delivered {
            *accepted.entry(owner).or_default() += 1;
        }
        for (owner, message) in &outcome.refused {
            if let Some(w) = work.get(*owner) {
                self.refuse(w, message);
            }
        }
        for (owner, count) in accepted {
            let Some(w) = work.get(owner) else { continue };
            if needed.get(&owner) != Some(&count) || self.is_delivered(w) {
                continue;
            }
            self.delivered.insert(w.key());
            if let Work::Call { kind, call, .. } = w {
                match kind {
                    ItemKind::CallStarted => {
                        self.eager_started.insert(call.id());
                    }
                    ItemKind::CallFinished => {
                        self.eager_started.remove(&call.id());
                    }
                    _ => {}
                }
            }
        }
        result
    }

    fn send_feedback(&mut self, work: &[Work<'_>]) -> Result<(), SinkError> {
        let pending: Vec<(usize, &Work<'_>)> = work
            .iter()
            .enumerate()
            .filter(|(_, w)| matches!(w, Work::Feedback { .. }) && !self.is_delivered(w))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if !self.feedback_single {
            let mut items = Vec::new();
            for (owner, w) in &pending {
                let Work::Feedback { wire, .. } = w else { continue };
                match serde_json::to_vec(wire) {
                    Ok(bytes) => items.push(Encoded { owner: *owner, bytes }),
                    Err(e) => self.refuse(w, &e.to_string()),
                }
            }
            match self.post_and_apply(routes::FEEDBACK_BATCH_CREATE, &items, work) {
                Ok(()) => return Ok(()),
                Err(Stop::Retry(f)) => return Err(self.retry(f)),
                Err(_) => self.feedback_single = true,
            }
        }
        for (_, w) in pending {
            let Work::Feedback { wire, .. } = w else { continue };
            if self.is_delivered(w) {
                continue;
            }
            let mut single = wire.clone();
            if let Some(obj) = single.as_object_mut() {
                obj.remove("id");
            }
            let body = serde_json::to_vec(&single).map_err(|e| SinkError::permanent(e.to_string()))?;
            match self.client()?.post_json(routes::FEEDBACK_CREATE, &body, &[]) {
                Ok(_) => {
                    self.delivered.insert(w.key());
                }
                Err(f) if f.kind == FailureKind::Retryable => return Err(self.retry(f)),
                Err(f) => self.refuse(w, &f.message),
            }
        }
        Ok(())
    }
}

impl Sink for WeaveServerSink {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        let project = self.project_id.clone();
        let mut ops: Vec<(String, OpHandle)> = Vec::new();
        let mut seen_ops: HashSet<*const OpDef> = HashSet::new();
        let mut work = Vec::with_capacity(batch.len());
        for (index, item) in batch.iter().enumerate() {
            match item {
                ExportItem::Object(object) => work.push(Work::Object {
                    index,
                    project_id: &object.project_id,
                    name: &object.name,
                    digest: &object.digest,
                    val: &object.value,
                }),
                ExportItem::Feedback(feedback) => work.push(Work::Feedback {
                    index,
                    id: feedback.id.to_string(),
                    wire: Value::Object(feedback.wire()),
                }),
                ExportItem::Table(table) => {
                    work.push(Work::Table { index, digest: table.digest.clone(), table: Value::Object(table.wire()) })
                }
                ExportItem::Op(item) => {
                    if seen_ops.insert(item.op.as_ptr()) {
                        ops.push((item.project_id.clone(), item.op.clone()));
                    }
                }
                other => {
                    let (Some(kind), Some(record)) = (ItemKind::of(other), record_of(other)) else { continue };
                    let op = &record.start.op;
                    if seen_ops.insert(op.as_ptr()) {
                        ops.push((project.clone(), op.clone()));
                    }
                    work.push(Work::Call { index, kind, call: CallSource::Record(record), project_id: &project });
                }
            }
        }
        self.deliver(&work, ops)
    }

    fn supports_call_start(&self) -> bool {
        true
    }

    fn ref_form(&self) -> StoreRefForm {
        self.ref_form.clone()
    }

    /// Starts up against the server once while nothing is queued, so that what start-up
    /// learns (the project's internal id) is known before the first batch.
    fn idle(&mut self) -> Result<bool, SinkError> {
        if !self.started && !self.idle_start_tried {
            self.idle_start_tried = true;
            // A server that does not answer was reported by `retry`; batches try again, and
            // meanwhile publishers do not wait for what start-up would have told.
            if let Err(e) = self.connect() {
                self.ref_form.fail_if_unknown(format!("the trace server could not be reached: {}", e.message));
            }
        }
        Ok(false)
    }

    fn describe(&self) -> String {
        format!("the Weave trace server at {} (project {})", self.config.trace_url, self.project_id)
    }

    fn project_id(&self) -> Option<&str> {
        Some(&self.project_id)
    }

    fn take_rejected(&mut self) -> Vec<(usize, SinkError)> {
        std::mem::take(&mut self.rejected).into_iter().map(|(index, _, error)| (index, error)).collect()
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
        if let Some(client) = &mut self.client {
            client.set_deadline(deadline);
        }
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        let mut ops = Vec::new();
        let mut work = Vec::with_capacity(batch.len());
        for (index, entry) in batch.iter().enumerate() {
            let item = &entry.item;
            let text = |key: &str| item.get(key).and_then(Value::as_str);
            let project_id = text("project_id").unwrap_or(&entry.project_id);
            if let Some(op) = &entry.op {
                // The file as it was written (`OpDef::new` would make it the source of another).
                let def = OpDef::from_source_file(&op.name, op.source.clone(), None, false);
                if def.digest() != op.digest {
                    weave_core::warn!(
                        "weave: the op {} in the fallback file does not match its digest; saving it anyway",
                        op.name
                    );
                }
                ops.push((entry.project_id.clone(), OpHandle::from(Arc::new(def))));
            }
            match entry.kind {
                ItemKind::CallStarted | ItemKind::CallFinished | ItemKind::CallUnfinished => {
                    work.push(Work::Call { index, kind: entry.kind, call: CallSource::Wire(item), project_id })
                }
                ItemKind::Object => {
                    let (Some(name), Some(digest)) = (text("object_id"), text("digest")) else { continue };
                    let val = item.get("val").unwrap_or(&Value::Null);
                    work.push(Work::Object { index, project_id, name, digest, val });
                }
                ItemKind::Feedback => {
                    let id = text("id").unwrap_or_default().to_string();
                    work.push(Work::Feedback { index, id, wire: item.clone() });
                }
                ItemKind::Table => {
                    let Some(digest) = text("digest") else { continue };
                    let mut table = item.clone();
                    if let Some(fields) = table.as_object_mut() {
                        fields.remove("digest");
                        fields.insert("expected_digest".into(), Value::Null);
                    }
                    work.push(Work::Table { index, digest: digest.to_string(), table });
                }
                ItemKind::Op => {} // its op is saved above
            }
        }
        self.deliver(&work, ops)
    }
}
