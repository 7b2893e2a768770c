// The traces page: root calls newest first, filters in the URL, live updates.
"use strict";
(() => {
  const { el, api, clear, content, params } = W;
  const FILTERS = ["op", "status", "since", "until", "attr", "text"];
  const PAGE = 50;
  let version = null;
  let timer = null;

  function input(id, placeholder, value, width) {
    return el("input", { type: "text", id, placeholder, value: value || "", size: width || 14 });
  }

  function statusSelect(value) {
    const select = el("select", { id: "filter-status" });
    for (const [v, label] of [["", "any status"], ["success", "success"], ["error", "error"], ["running", "running"], ["descendant_error", "child error"]]) {
      const option = el("option", { value: v }, label);
      if (v === (value || "")) option.selected = true;
      select.appendChild(option);
    }
    return select;
  }

  function sinceSelect(value) {
    const select = el("select", { id: "filter-since", title: "started since" });
    const choices = [["", "any time"], ["15m", "last 15 min"], ["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"]];
    if (value && !choices.some(([v]) => v === value)) choices.push([value, "since " + value]);
    for (const [v, label] of choices) {
      const option = el("option", { value: v }, label);
      if (v === (value || "")) option.selected = true;
      select.appendChild(option);
    }
    return select;
  }

  function render() {
    const p = params();
    const bar = el("form", { class: "panel bar-row", id: "filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
      input("filter-op", "op name", p.get("op"), 14),
      statusSelect(p.get("status")),
      sinceSelect(p.get("since")),
      input("filter-attr", "attribute key=value", p.get("attr"), 18),
      input("filter-text", "text in inputs / output", p.get("text"), 24),
      el("button", { id: "filter-apply", type: "submit", class: "primary" }, "Apply"),
      el("button", { id: "filter-clear", type: "button", onclick: () => { history.pushState(null, "", "/"); render(); } }, "Clear"),
      el("label", { class: "check", title: "reload when new calls arrive" }, el("input", { type: "checkbox", id: "live", checked: true }), "live"),
    );
    const root = clear(content());
    root.appendChild(bar);
    root.appendChild(el("div", { id: "traces" }, el("div", { class: "empty" }, "Loading…")));
    load();
  }

  function apply() {
    const p = new URLSearchParams();
    const values = {
      op: document.getElementById("filter-op").value.trim(),
      status: document.getElementById("filter-status").value,
      since: document.getElementById("filter-since").value,
      attr: document.getElementById("filter-attr").value.trim(),
      text: document.getElementById("filter-text").value.trim(),
    };
    for (const [k, v] of Object.entries(values)) if (v) p.set(k, v);
    const until = params().get("until");
    if (until) p.set("until", until);
    const query = p.toString();
    history.pushState(null, "", query ? "/?" + query : "/");
    load();
  }

  async function load() {
    const p = params();
    const q = new URLSearchParams();
    for (const k of FILTERS) if (p.get(k)) q.set(k, p.get(k));
    q.set("limit", String(PAGE));
    const offset = Number(p.get("offset") || 0);
    if (offset) q.set("offset", String(offset));
    const target = document.getElementById("traces");
    try {
      const [body, status] = await Promise.all([api("/api/traces?" + q.toString()), api("/api/status")]);
      version = status.version;
      clear(target);
      W.indexing(status);
      target.appendChild(tableOf(body.calls));
      target.appendChild(pager(offset, body.has_more, body.calls.length));
    } catch (e) {
      W.showError(target, e);
    }
  }

  function tableOf(calls) {
    const rows = calls.map((c) => el("tr", {
      class: "trace-row clickable",
      "data-trace-id": c.trace_id,
      onclick: (e) => { if (!e.target.closest("a")) location.assign("/trace/" + encodeURIComponent(c.trace_id)); },
    },
      el("td", { class: "mono small", title: c.started_at }, W.time(c.started_at_us)),
      el("td", { class: "mono" }, c.op),
      el("td", { class: "clip" }, el("a", { href: "/trace/" + encodeURIComponent(c.trace_id) }, c.name)),
      el("td", null, W.status(c.status), c.error ? el("div", { class: "error-text small clip" }, c.error) : null),
      el("td", { class: "num" }, W.ms(c.latency_ms)),
      el("td", { class: "num" }, W.num(c.tokens)),
      el("td", { class: "num" }, W.costView(c.cost, c.cost_estimated)),
      el("td", { class: "num" }, W.num(c.calls)),
    ));
    if (rows.length === 0) {
      return el("div", { class: "empty panel" }, params().toString() ? "No trace matches these filters." : "No traces yet: run a program traced with weave.");
    }
    const numeric = (h) => el("th", { class: "num" }, h);
    return W.table(["Started", "Op", "Name", "Status", numeric("Latency"), numeric("Tokens"), numeric("Cost"), numeric("Calls")], rows, { id: "traces-table" });
  }

  function pager(offset, hasMore, shown) {
    const go = (to) => {
      const p = params();
      if (to > 0) p.set("offset", String(to)); else p.delete("offset");
      history.pushState(null, "", "/?" + p.toString());
      load();
    };
    return el("div", { class: "pager" },
      el("button", { id: "page-prev", type: "button", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, "← Newer"),
      el("span", { class: "muted" }, shown ? `${offset + 1}–${offset + shown}` : ""),
      el("button", { id: "page-next", type: "button", disabled: !hasMore, onclick: () => go(offset + PAGE) }, "Older →"),
    );
  }

  async function poll() {
    const live = document.getElementById("live");
    if (!live || !live.checked || Number(params().get("offset") || 0) > 0 || document.hidden) return;
    try {
      const status = await api("/api/status");
      if (version !== null && status.version !== version) load();
    } catch (_) {
      /* try again later */
    }
  }

  window.addEventListener("popstate", render);
  document.addEventListener("DOMContentLoaded", () => {
    render();
    timer = setInterval(poll, 2000);
  });
  window.addEventListener("beforeunload", () => clearInterval(timer));
})();
