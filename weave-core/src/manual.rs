//! Calls started by hand, for code that cannot be an `#[op]` function: calls whose op is
//! chosen at run time (evaluations, scorers named after a class), calls that start and end
//! in different places (an imperative evaluation logger), or calls bridging other tracers.
//!
//! ```
//! use weave_core::manual::CallBuilder;
//! let call = CallBuilder::new("Evaluation.predict_and_score").input("example", &"row 1").start();
//! let child_context = call.context(); // enter it to make calls its children
//! call.finish(&serde_json::json!({"scores": {}}));
//! # drop(child_context);
//! ```

use crate::active::{start_owning, Scope, StartOptions, MANUAL_OP};
use crate::capture::{capture_value, RawJson};
use crate::context::CallContext;
use crate::exception::Exception;
use crate::ids::Id;
use crate::json::JsonObject;
use crate::node::CallNode;
use crate::op::OpDef;
use crate::switch::current_client_handle;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Builds a call of an op named at run time. Nothing is recorded when no client is
/// installed (or inside an unsampled root).
#[must_use]
#[derive(Debug)]
pub struct CallBuilder {
    op_name: String,
    source: Option<String>,
    op: Option<Arc<OpDef>>,
    kind: Option<&'static str>,
    eager: bool,
    inputs: Vec<(String, Value)>,
    display_name: Option<String>,
    attributes: Option<JsonObject>,
    parent: Option<CallContext>,
}

impl CallBuilder {
    /// A call of the op `op_name` (e.g. `"Evaluation.evaluate"`).
    pub fn new(op_name: impl Into<String>) -> CallBuilder {
        CallBuilder {
            op_name: op_name.into(),
            source: None,
            op: None,
            kind: None,
            eager: false,
            inputs: Vec::new(),
            display_name: None,
            attributes: None,
            parent: None,
        }
    }

    /// A call of an existing op definition.
    pub fn for_op(op: Arc<OpDef>) -> CallBuilder {
        let mut builder = CallBuilder::new(op.name().to_string());
        builder.op = Some(op);
        builder
    }

    /// The op's code (stored as its source, which versions it).
    pub fn source(mut self, source: impl Into<String>) -> CallBuilder {
        self.source = Some(source.into());
        self
    }

    /// The op's kind (`attributes.weave.kind`).
    pub fn kind(mut self, kind: &'static str) -> CallBuilder {
        self.kind = Some(kind);
        self
    }

    /// Writes the call's start at once (a long-running call shows as running).
    pub fn eager(mut self, eager: bool) -> CallBuilder {
        self.eager = eager;
        self
    }

    /// Adds one input (captured as JSON with the usual redaction and limits).
    pub fn input(mut self, name: impl Into<String>, value: &(impl Serialize + ?Sized)) -> CallBuilder {
        let value = crate::json::to_value(value)
            .unwrap_or_else(|e| Value::String(format!("[weave: could not serialize input: {e}]")));
        self.inputs.push((name.into(), value));
        self
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> CallBuilder {
        self.display_name = Some(name.into());
        self
    }

    /// Adds attributes (they win over the scoped ones).
    pub fn attributes(mut self, attributes: JsonObject) -> CallBuilder {
        let merged = self.attributes.get_or_insert_with(JsonObject::new);
        crate::summary::deep_merge(merged, attributes);
        self
    }

    /// Makes the call a child of the call current in `context` (default: the context
    /// current on this thread).
    pub fn parent(mut self, context: CallContext) -> CallBuilder {
        self.parent = Some(context);
        self
    }

    /// Starts the call (it is not entered: use [`StartedCall::context`] for children).
    pub fn start(self) -> StartedCall {
        let parent_context = self.parent.unwrap_or_else(CallContext::current);
        let client = match current_client_handle() {
            Some(client) if !parent_context.suppressed.is_set() => client,
            _ => return StartedCall { node: None, context: parent_context },
        };
        let op = match self.op {
            Some(op) => op,
            None => {
                let source = self.source.unwrap_or_else(|| format!("// op `{}` (created at run time)\n", self.op_name));
                Arc::new(OpDef::new(&self.op_name, &source, client.settings().capture_code, self.kind, self.eager))
            }
        }
        .into();
        let options = StartOptions { info: &MANUAL_OP, attributes: self.attributes, display_name: self.display_name };
        let inputs = self.inputs;
        let (node, context) = start_owning(client, Scope::of(&parent_context), op, options, |config| {
            capture_value(config, |w| {
                let map: serde_json::Map<String, Value> = inputs.into_iter().collect();
                w.serialize(&map);
            })
        });
        StartedCall { node: Some(node), context }
    }
}

/// A call started by hand. Finish it with [`StartedCall::finish`] or
/// [`StartedCall::fail`]; dropped unfinished, it is recorded as cancelled.
#[derive(Debug)]
pub struct StartedCall {
    node: Option<Arc<CallNode>>,
    context: CallContext,
}

impl StartedCall {
    /// True when the call is recorded.
    pub fn is_recording(&self) -> bool {
        self.node.is_some()
    }

    /// The call's id, when recorded.
    pub fn id(&self) -> Option<Id> {
        self.node.as_ref().map(|n| n.start().id)
    }

    /// The trace's id, when recorded.
    pub fn trace_id(&self) -> Option<Id> {
        self.node.as_ref().map(|n| n.start().trace_id)
    }

    /// The context with this call current: enter it (or wrap futures in it) so that calls
    /// made there are its children.
    pub fn context(&self) -> CallContext {
        self.context.clone()
    }

    /// Sets the display name.
    pub fn set_display_name(&self, name: impl Into<String>) {
        if let Some(node) = &self.node {
            node.set_display_name(name.into());
        }
    }

    /// Adds keys to the summary.
    pub fn add_summary(&self, values: JsonObject) {
        if let Some(node) = &self.node {
            node.merge_user_summary(values);
        }
    }

    /// Ends the call with an output.
    pub fn finish(mut self, output: &(impl Serialize + ?Sized)) {
        if let Some(node) = self.node.take() {
            let raw = capture_value(node.client().capture_config(), |w| w.serialize(output));
            node.finish(Some(raw), None);
        }
    }

    /// Ends the call with an already-captured output.
    pub fn finish_raw(mut self, output: RawJson) {
        if let Some(node) = self.node.take() {
            node.finish(Some(output), None);
        }
    }

    /// Ends the call with an error.
    pub fn fail(mut self, exception: Exception) {
        if let Some(node) = self.node.take() {
            node.finish(None, Some(exception));
        }
    }

    /// Ends the call with an error and what it had produced until then as its output (a
    /// stream its consumer dropped early: the output is what arrived, the exception says
    /// why it is incomplete). Weave stores both; the call counts as failed.
    pub fn fail_with_output(mut self, output: &(impl Serialize + ?Sized), exception: Exception) {
        if let Some(node) = self.node.take() {
            let raw = capture_value(node.client().capture_config(), |w| w.serialize(output));
            node.finish(Some(raw), Some(exception));
        }
    }
}

impl Drop for StartedCall {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            let exception = Exception::cancelled(node.start().op.name());
            node.finish(None, Some(exception));
        }
    }
}
