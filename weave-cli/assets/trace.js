// The trace page: the call tree with a timing waterfall, and the selected call.
"use strict";
(() => {
  const { el, api, clear, content } = W;
  const REACTIONS = ["👍", "👎", "🎉", "🤔", "❤️"];
  const traceId = decodeURIComponent(location.pathname.replace(/^\/trace\//, ""));
  let trace = null;
  const collapsed = new Set();
  let selected = null;

  async function start() {
    const root = clear(content());
    try {
      trace = await api("/api/trace/" + encodeURIComponent(traceId));
    } catch (e) {
      W.showError(root, e);
      return;
    }
    root.appendChild(summary());
    const tree = el("div", { id: "call-tree", class: "panel" });
    const detail = el("div", { id: "call-detail", class: "panel" }, el("div", { class: "empty" }, "Select a call."));
    root.appendChild(el("div", { class: "split" }, tree, detail));
    drawTree();
    const wanted = new URLSearchParams(location.search).get("call");
    const first = trace.calls.find((c) => c.id === wanted) || trace.calls[0];
    if (first) select(first.id, false);
  }

  function summary() {
    const s = trace.summary;
    const root = trace.calls[0] || {};
    const counts = s.status_counts || {};
    const box = el("div", { class: "panel stats", id: "trace-summary" },
      W.stat("status", W.status(root.status)),
      W.stat("calls", W.num(s.calls)),
      W.stat("errors", W.num(s.errors)),
      W.stat("duration", W.ms((trace.end_us - trace.start_us) / 1000)),
      W.stat("started", W.time(trace.start_us)),
      W.stat("succeeded / failed", `${W.num(counts.success || 0)} / ${W.num(counts.error || 0)}`),
    );
    const costs = new Map((s.costs || []).map((m) => [m.model, m]));
    for (const [model, u] of Object.entries(s.usage || {})) {
      const tokens = u.total_tokens !== undefined ? u.total_tokens : (u.prompt_tokens || u.input_tokens || 0) + (u.completion_tokens || u.output_tokens || 0);
      const cost = costs.get(model);
      box.appendChild(W.stat(model, el("span", null, `${W.num(u.requests || 0)} req · ${W.num(tokens)} tok`, cost ? [" · ", W.costView(cost.cost, cost.estimated)] : null)));
    }
    if (trace.truncated) box.appendChild(el("div", { class: "error-text" }, "This trace is large: only its first calls are shown."));
    return box;
  }

  function hiddenSet() {
    // A node is hidden when an ancestor is collapsed (nodes come in tree order).
    const hidden = new Set();
    let hideDeeper = null;
    for (const c of trace.calls) {
      if (hideDeeper !== null && c.depth > hideDeeper) {
        hidden.add(c.id);
        continue;
      }
      hideDeeper = collapsed.has(c.id) ? c.depth : null;
    }
    return hidden;
  }

  function drawTree() {
    const tree = clear(document.getElementById("call-tree"));
    const span = Math.max(1, trace.end_us - trace.start_us);
    const hidden = hiddenSet();
    for (const c of trace.calls) {
      if (hidden.has(c.id)) continue;
      const toggle = el("span", {
        class: "tree-toggle",
        title: c.children ? "expand / collapse" : null,
        onclick: (e) => {
          e.stopPropagation();
          if (!c.children) return;
          if (collapsed.has(c.id)) collapsed.delete(c.id); else collapsed.add(c.id);
          drawTree();
        },
      }, c.children ? (collapsed.has(c.id) ? "▸" : "▾") : "");
      const end = c.ended_at_us === null ? trace.end_us : c.ended_at_us;
      const bar = el("div", { class: "bar " + (c.status === "error" ? "error" : c.status === "running" ? "running" : "") });
      bar.style.left = ((c.started_at_us - trace.start_us) / span * 100).toFixed(2) + "%";
      bar.style.width = Math.max(0.2, (end - c.started_at_us) / span * 100).toFixed(2) + "%";
      const label = el("div", { class: "label" }, toggle, el("span", { class: "status dot " + c.status, title: c.status }), el("span", { title: c.op_ref }, c.name));
      label.style.paddingLeft = (c.depth * 14) + "px";
      const node = el("div", {
        class: "tree-node" + (c.id === selected ? " selected" : ""),
        "data-call-id": c.id,
        "data-depth": c.depth,
        onclick: () => select(c.id, true),
      }, label, el("span", { class: "num small muted" }, W.ms(c.latency_ms)), el("div", { class: "waterfall", title: W.ms(c.latency_ms) }, bar));
      tree.appendChild(node);
    }
  }

  async function select(id, push) {
    selected = id;
    for (const n of document.querySelectorAll(".tree-node")) n.classList.toggle("selected", n.dataset.callId === id);
    if (push) {
      const url = new URL(location.href);
      url.searchParams.set("call", id);
      history.replaceState(null, "", url.pathname + url.search);
    }
    const detail = clear(document.getElementById("call-detail"));
    detail.appendChild(el("div", { class: "empty" }, "Loading…"));
    try {
      const call = await api("/api/call/" + encodeURIComponent(id));
      if (selected === id) drawDetail(call);
    } catch (e) {
      W.showError(detail, e);
    }
  }

  function section(id, title, ...children) {
    return el("div", { class: "section", id }, el("h3", null, title), ...children);
  }

  function drawDetail(c) {
    const detail = clear(document.getElementById("call-detail"));
    detail.appendChild(el("h2", null, c.name));
    detail.appendChild(el("dl", { class: "kv" },
      el("dt", null, "status"), el("dd", null, W.status(c.status)),
      el("dt", null, "op"), el("dd", null, el("a", { href: "/ops/" + encodeURIComponent(c.op) }, c.op), c.op_source && c.op_source.version ? ` (${c.op_source.version})` : ""),
      el("dt", null, "latency"), el("dd", null, W.ms(c.latency_ms)),
      el("dt", null, "started"), el("dd", null, c.started_at),
      el("dt", null, "call id"), el("dd", null, c.id),
      c.thread_id ? [el("dt", null, "thread"), el("dd", null, el("a", { href: "/thread/" + encodeURIComponent(c.thread_id) }, c.thread_id))] : null,
      c.tokens !== null ? [el("dt", null, "tokens"), el("dd", null, W.num(c.tokens))] : null,
      c.cost !== null ? [el("dt", null, "cost"), el("dd", { id: "call-cost" }, W.costView(c.cost, c.cost_estimated))] : null,
    ));
    if (c.costs && c.costs.length) detail.appendChild(section("call-costs", "Cost per model", costTable(c.costs)));
    detail.appendChild(section("call-inputs", "Inputs", W.jsonView(c.inputs)));
    detail.appendChild(section("call-output", "Output", c.status === "running" ? el("span", { class: "muted" }, "running…") : W.jsonView(c.output)));
    if (c.exception) detail.appendChild(section("call-exception", "Exception", exception(c.exception)));
    detail.appendChild(section("call-feedback", "Feedback", feedback(c)));
    detail.appendChild(section("call-summary", "Summary", W.jsonView(c.summary, { open: 3 })));
    detail.appendChild(section("call-attributes", "Attributes", W.jsonView(c.attributes, { open: 1 })));
    detail.appendChild(section("call-source", "Source", source(c.op_source)));
  }

  function costTable(costs) {
    const numeric = (h) => el("th", { class: "num" }, h);
    const rows = costs.map((m) => el("tr", { class: "cost-row", "data-model": m.model },
      el("td", { class: "mono" }, m.model),
      el("td", { class: "num" }, W.num(m.requests)),
      el("td", { class: "num" }, W.num(m.prompt_tokens)),
      el("td", { class: "num" }, W.num(m.completion_tokens)),
      el("td", { class: "num" }, W.costView(m.cost, m.estimated)),
    ));
    return W.table(["Model", numeric("Requests"), numeric("Tokens in"), numeric("Tokens out"), numeric("Cost")], rows, { id: "cost-table" });
  }

  function exception(x) {
    const frames = Array.isArray(x.traceback) ? x.traceback : [];
    const lines = frames.map((f) => `  ${f.filename || "?"}:${f.line_number || "?"} in ${f.function_name || "?"}${f.text ? "\n    " + f.text : ""}`);
    return el("div", null,
      el("div", { class: "error-text" }, el("b", null, x.type || "Error"), ": ", x.message || ""),
      lines.length ? el("pre", { class: "traceback" }, lines.join("\n")) : null,
      typeof x.traceback === "string" ? el("pre", { class: "traceback" }, x.traceback) : null,
    );
  }

  function source(s) {
    if (!s) return el("span", { class: "muted" }, "no op");
    return el("div", null,
      el("div", { class: "muted small" }, `${s.name} · version ${s.version || "?"} of ${s.versions} · ${s.digest || ""}`),
      s.code ? el("pre", { class: "code" }, el("code", null, s.code)) : el("div", { class: "muted" }, "The source of this version is not stored."),
    );
  }

  function feedbackItem(f) {
    const p = f.payload || {};
    let what;
    if (f.feedback_type === "wandb.reaction.1") what = el("span", { class: "reaction" }, p.emoji || "");
    else if (f.feedback_type === "wandb.note.1") what = el("span", null, "📝 ", p.note || "");
    else what = el("span", null, el("span", { class: "chip" }, f.feedback_type.replace(/^wandb\.runnable\./, "score: ")), " ", W.brief(p.output !== undefined ? p.output : p, 200));
    return el("li", { "data-feedback-type": f.feedback_type }, what, " ", el("span", { class: "muted small" }, f.created_at));
  }

  function feedback(c) {
    const list = el("ul", { class: "feedback-list", id: "feedback-list" }, c.feedback.map(feedbackItem));
    const status = el("div", { class: "small", id: "feedback-status" });
    const send = async (value) => {
      status.textContent = "";
      try {
        const added = await W.post("/api/call/" + encodeURIComponent(c.id) + "/feedback", value);
        list.appendChild(feedbackItem(added));
        return true;
      } catch (e) {
        status.textContent = e.message;
        status.className = "small error-text";
        return false;
      }
    };
    const reactions = el("div", { class: "reactions" }, REACTIONS.map((emoji) => el("button", {
      class: "reaction-button", type: "button", "data-emoji": emoji, title: "react " + emoji, onclick: () => send({ emoji }),
    }, emoji)));
    const note = el("input", { type: "text", id: "note-input", placeholder: "add a note…", maxlength: 1024 });
    const form = el("form", { class: "note-form", onsubmit: async (e) => {
      e.preventDefault();
      const text = note.value.trim();
      if (!text) return;
      if (await send({ note: text })) note.value = "";
    } }, note, el("button", { type: "submit", id: "note-submit" }, "Add note"));
    return el("div", null, list, reactions, form, status);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
