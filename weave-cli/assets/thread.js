// One thread: its turns in order, each with its inputs and output.
"use strict";
(() => {
  const { el, api, clear, content } = W;
  const threadId = decodeURIComponent(location.pathname.replace(/^\/thread\//, ""));

  async function start() {
    const root = clear(content());
    try {
      const body = await api("/api/thread/" + encodeURIComponent(threadId));
      const list = el("div", { id: "thread-turns" });
      body.turns.forEach((t, i) => {
        const href = "/trace/" + encodeURIComponent(t.trace_id) + "?call=" + encodeURIComponent(t.id);
        list.appendChild(el("div", { class: "panel turn", "data-call-id": t.id },
          el("div", { class: "turn-head" },
            el("b", null, `Turn ${i + 1}`), el("a", { href }, t.name), W.status(t.status),
            el("span", { class: "muted" }, W.time(t.started_at_us)), el("span", { class: "muted" }, W.ms(t.latency_ms)),
          ),
          el("div", { class: "turn-body" },
            el("div", null, el("div", { class: "muted small" }, "inputs"), W.jsonView(t.inputs, { open: 1 })),
            el("div", null, el("div", { class: "muted small" }, "output"), t.error ? el("div", { class: "error-text" }, t.error) : W.jsonView(t.output, { open: 1 })),
          ),
        ));
      });
      root.appendChild(list);
    } catch (e) {
      W.showError(root, e);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
