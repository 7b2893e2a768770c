// The evaluations page: every run; pick two or more to compare.
"use strict";
(() => {
  const { el, api, clear, content, tools } = W;

  function summaryChips(summary) {
    const chips = [];
    const walk = (value, path) => {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) walk(v, path ? path + "." + k : k);
      } else if (typeof value === "number" && !path.endsWith("true_count")) {
        chips.push(el("span", { class: "chip", title: path }, `${path.replace(/\.(mean|true_fraction)$/, "")} ${W.num(value, 3)}`));
      }
    };
    walk(summary, "");
    return el("div", { class: "chips" }, chips);
  }

  function label(ref) {
    if (!ref || typeof ref !== "object") return ref ? String(ref) : "";
    return ref.version ? `${ref.name}:${ref.version}` : ref.name || "";
  }

  async function start() {
    const root = clear(content());
    const button = el("button", { id: "compare-button", class: "primary", type: "button", disabled: true }, "Compare");
    const hint = el("span", { class: "small" }, "select two or more runs");
    clear(tools()).append(hint, button);
    let body;
    try {
      body = await api("/api/evals?limit=200");
    } catch (e) {
      W.showError(root, e);
      return;
    }
    if (body.evals.length === 0) {
      root.appendChild(el("div", { class: "empty panel" }, "No evaluation runs yet: run an Evaluation (see `cargo run --example evaluation`)."));
      return;
    }
    const update = () => {
      const n = document.querySelectorAll("input.eval-select:checked").length;
      button.disabled = n < 2;
      hint.textContent = n < 2 ? "select two or more runs" : `${n} selected`;
    };
    button.addEventListener("click", () => {
      // Oldest first: the first run is the baseline the others' deltas are measured from.
      const ids = [...document.querySelectorAll("input.eval-select:checked")].map((c) => c.closest("tr").dataset.callId).reverse();
      if (ids.length >= 2) location.assign("/compare?ids=" + ids.map(encodeURIComponent).join(","));
    });
    const rows = body.evals.map((r) => {
      const box = el("input", { type: "checkbox", class: "eval-select", title: "compare", onchange: update });
      return el("tr", { class: "eval-row", "data-call-id": r.id },
        el("td", null, box),
        el("td", { class: "mono small" }, W.time(r.started_at_us)),
        el("td", null, el("a", { href: "/trace/" + encodeURIComponent(r.trace_id) }, r.name), el("div", { class: "muted small" }, r.evaluation ? r.evaluation.name : "")),
        el("td", { class: "mono" }, label(r.model), r.model && r.model.class ? el("div", { class: "muted small" }, r.model.class) : null),
        el("td", { class: "mono" }, label(r.dataset), r.dataset && r.dataset.rows !== undefined && r.dataset.rows !== null ? el("div", { class: "muted small" }, `${r.dataset.rows} rows`) : null),
        el("td", null, el("div", { class: "chips" }, (r.scorers || []).map((s) => el("span", { class: "chip" }, String(s))))),
        el("td", { class: "num" }, W.num(r.trials)),
        el("td", null, summaryChips(r.summary)),
        el("td", { class: "num eval-cost" }, W.costView(r.cost, r.cost_estimated)),
        el("td", null, W.status(r.status)),
      );
    });
    root.appendChild(W.table(["", "Started", "Run", "Model", "Dataset", "Scorers", el("th", { class: "num" }, "Trials"), "Summary", el("th", { class: "num" }, "Cost"), "Status"], rows, { id: "evals-table" }));
    // A click on a row (not on a link) toggles its checkbox.
    for (const tr of document.querySelectorAll("tr.eval-row")) {
      tr.addEventListener("click", (e) => {
        if (e.target.closest("a") || e.target.matches("input")) return;
        const box = tr.querySelector("input.eval-select");
        box.checked = !box.checked;
        update();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
