// The ops page: every op with its versions, calls, error rate and latency percentiles.
"use strict";
(() => {
  const { el, api, clear, content } = W;

  async function start() {
    const root = clear(content());
    try {
      const body = await api("/api/ops");
      if (body.ops.length === 0) {
        root.appendChild(el("div", { class: "empty panel" }, "No ops yet."));
        return;
      }
      const num = (h) => el("th", { class: "num" }, h);
      const rows = body.ops.map((op) => el("tr", { class: "op-row clickable", "data-op": op.name, onclick: (e) => { if (!e.target.closest("a")) location.assign("/ops/" + encodeURIComponent(op.name)); } },
        el("td", { class: "mono" }, el("a", { href: "/ops/" + encodeURIComponent(op.name) }, op.name)),
        el("td", { class: "num" }, W.num(op.versions)),
        el("td", { class: "num" }, W.num(op.stats.calls)),
        el("td", { class: "num" + (op.stats.errors ? " error-text" : "") }, W.pct(op.stats.error_rate)),
        el("td", { class: "num" }, W.ms(op.stats.p50_ms)),
        el("td", { class: "num" }, W.ms(op.stats.p95_ms)),
        el("td", { class: "muted" }, W.ago(op.stats.last_started_us)),
      ));
      root.appendChild(W.table(["Op", num("Versions"), num("Calls"), num("Error rate"), num("p50"), num("p95"), "Last call"], rows, { id: "ops-table" }));
      root.appendChild(el("div", { class: "help" }, `Error rate and percentiles over each op's ${W.num(body.stats_sample)} most recent calls.`));
    } catch (e) {
      W.showError(root, e);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
