// One op: its versions and their code, a diff between two, statistics and recent calls.
"use strict";
(() => {
  const { el, api, clear, content } = W;
  const name = decodeURIComponent(location.pathname.replace(/^\/ops\//, ""));

  async function start() {
    const root = clear(content());
    let op;
    try {
      op = await api("/api/ops/" + encodeURIComponent(name));
    } catch (e) {
      W.showError(root, e);
      return;
    }
    const s = op.stats;
    root.appendChild(el("div", { class: "panel stats", id: "op-stats" },
      W.stat("calls", W.num(s.calls)), W.stat("versions", W.num(op.versions.length)),
      W.stat("error rate", W.pct(s.error_rate)), W.stat("p50", W.ms(s.p50_ms)), W.stat("p95", W.ms(s.p95_ms)),
      W.stat("last call", W.ago(s.last_started_us)),
    ));
    const num = (h) => el("th", { class: "num" }, h);
    const versions = op.versions.slice().reverse().map((v) => el("tr", { class: "version-row", "data-digest": v.digest },
      el("td", { class: "mono" }, "v" + v.index),
      el("td", { class: "mono small" }, v.digest),
      el("td", { class: "muted" }, v.created_at),
      el("td", { class: "num" }, W.num(v.stats.calls)),
      el("td", { class: "num" }, W.pct(v.stats.error_rate)),
      el("td", { class: "num" }, W.ms(v.stats.p50_ms)),
      el("td", { class: "num" }, W.ms(v.stats.p95_ms)),
    ));
    root.appendChild(el("div", { class: "section" }, el("h3", null, "Versions"), W.table(["Version", "Digest", "Saved", num("Calls"), num("Error rate"), num("p50"), num("p95")], versions, { id: "versions-table" })));
    root.appendChild(codeSection(op));
    const calls = op.calls.map((c) => el("tr", { class: "clickable", onclick: () => location.assign("/trace/" + encodeURIComponent(c.trace_id) + "?call=" + encodeURIComponent(c.id)) },
      el("td", { class: "mono small" }, W.time(c.started_at_us)),
      el("td", null, el("a", { href: "/trace/" + encodeURIComponent(c.trace_id) + "?call=" + encodeURIComponent(c.id) }, c.name)),
      el("td", null, W.status(c.status)),
      el("td", { class: "num" }, W.ms(c.latency_ms)),
      el("td", { class: "error-text small clip" }, c.error || ""),
    ));
    root.appendChild(el("div", { class: "section" }, el("h3", null, "Recent calls"), W.table(["Started", "Call", "Status", num("Latency"), "Error"], calls, { id: "op-calls" })));
  }

  function select(id, versions, chosen) {
    const s = el("select", { id });
    for (const v of versions) {
      const o = el("option", { value: v.digest }, `v${v.index} · ${v.digest.slice(0, 10)}`);
      if (v.digest === chosen) o.selected = true;
      s.appendChild(o);
    }
    return s;
  }

  function codeSection(op) {
    const versions = op.versions;
    const out = el("div", { id: "op-code" });
    const box = el("div", { class: "section" }, el("h3", null, "Code"));
    if (versions.length === 0) return box;
    const latest = versions[versions.length - 1];
    const a = select("diff-a", versions, (versions[versions.length - 2] || latest).digest);
    const b = select("diff-b", versions, latest.digest);
    const show = async () => {
      clear(out);
      if (a.value === b.value) {
        const v = versions.find((x) => x.digest === b.value);
        out.appendChild(v && v.source ? el("pre", { class: "code" }, el("code", null, v.source)) : el("div", { class: "muted" }, "No source stored for this version."));
        return;
      }
      try {
        const d = await api(`/api/ops/${encodeURIComponent(op.name)}/diff?a=${encodeURIComponent(a.value)}&b=${encodeURIComponent(b.value)}`);
        const view = el("div", { class: "diff", id: "op-diff" });
        for (const line of d.lines) {
          view.appendChild(el("div", { class: line.op === "+" ? "add" : line.op === "-" ? "del" : "" }, line.op + " " + line.text));
        }
        out.appendChild(el("div", { class: "muted small" }, `${d.changed} changed lines`));
        out.appendChild(view);
      } catch (e) {
        W.showError(out, e);
      }
    };
    a.addEventListener("change", show);
    b.addEventListener("change", show);
    box.appendChild(el("div", { class: "bar-row" }, versions.length > 1 ? ["diff ", a, " → ", b] : "", el("span", { class: "help" }, versions.length > 1 ? "pick the same version twice to see its code" : "")));
    box.appendChild(out);
    show();
    return box;
  }

  document.addEventListener("DOMContentLoaded", start);
})();
