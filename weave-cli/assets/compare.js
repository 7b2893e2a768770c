// Comparing evaluation runs: summary metrics with deltas, SVG bar charts, and the
// per-row table with a query, sortable columns and a group-by.
"use strict";
(() => {
  const { el, svg, api, clear, content, params } = W;
  const ids = (params().get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  let summary = null;
  let sort = params().get("sort") || "";
  let desc = params().get("desc") === "1";
  let timer = null;

  async function start() {
    const root = clear(content());
    if (ids.length === 0) {
      root.appendChild(el("div", { class: "empty panel" }, "Pick runs to compare on the Evaluations page."));
      return;
    }
    try {
      summary = await api("/api/compare?ids=" + ids.map(encodeURIComponent).join(","));
    } catch (e) {
      W.showError(root, e);
      return;
    }
    root.appendChild(runsTable());
    root.appendChild(metricsTable());
    root.appendChild(chart());
    root.appendChild(rowsSection());
    loadRows();
  }

  function swatch(i) {
    const s = el("span", { class: "swatch" });
    s.style.background = W.color(i);
    return s;
  }

  function runsTable() {
    const rows = summary.runs.map((r, i) => el("tr", null,
      el("td", null, swatch(i), el("span", { class: "mono" }, r.key)),
      el("td", { class: "mono" }, r.label),
      el("td", null, el("a", { href: "/trace/" + encodeURIComponent(r.trace_id) }, r.name)),
      el("td", { class: "mono" }, r.dataset ? (r.dataset.version ? `${r.dataset.name}:${r.dataset.version}` : r.dataset.name) : ""),
      el("td", { class: "num" }, W.num(r.rows)),
      el("td", { class: "num" }, W.costView(r.cost, r.cost_estimated)),
      el("td", { class: "mono small" }, W.time(r.started_at_us)),
    ));
    return el("div", { class: "section" }, W.table(["Run", "Model", "Evaluation", "Dataset", el("th", { class: "num" }, "Rows"), el("th", { class: "num" }, "Cost"), "Started"], rows, { id: "compare-runs" }));
  }

  function metricsTable() {
    const headers = ["Metric"];
    summary.runs.forEach((r, i) => headers.push(el("th", { class: "num" }, swatch(i), r.key + (i > 0 ? " (Δ)" : ""))));
    const rows = summary.metrics.map((m) => {
      const tr = el("tr", { "data-metric": m.path }, el("td", { class: "mono" }, m.path));
      m.values.forEach((v, i) => {
        const cell = el("td", { class: "num" }, W.num(v));
        const d = m.deltas[i];
        if (i > 0 && d !== null && d !== undefined) {
          const better = m.lower_is_better ? d < 0 : d > 0;
          const cls = d === 0 ? "delta" : better ? "delta good" : "delta bad";
          cell.appendChild(el("span", { class: cls }, ` (${d > 0 ? "+" : ""}${W.num(d)})`));
        }
        tr.appendChild(cell);
      });
      return tr;
    });
    return el("div", { class: "section", id: "compare-summary" }, el("h3", null, "Summary"), W.table(headers, rows));
  }

  function chart() {
    // Small multiples: one group of bars per metric, each on its own scale.
    const metrics = summary.metrics.filter((m) => !m.path.endsWith("true_count")).slice(0, 24);
    const runs = summary.runs.length;
    const barW = 16, gap = 4, groupW = Math.max(104, runs * (barW + gap) + 26), h = 170, top = 22, bottom = 46;
    const width = Math.max(320, metrics.length * groupW + 20);
    const chartSvg = svg("svg", { id: "compare-chart", width, height: h, viewBox: `0 0 ${width} ${h}`, role: "img", "aria-label": "summary metrics per run" });
    const plotH = h - top - bottom;
    metrics.forEach((m, gi) => {
      const x0 = 14 + gi * groupW;
      const values = m.values.map((v) => (typeof v === "number" ? v : 0));
      const allFractions = values.every((v) => v >= 0 && v <= 1) && /fraction|mean/.test(m.path) && !m.lower_is_better;
      const max = allFractions ? 1 : Math.max(...values.map(Math.abs), 1e-12);
      const barTop = (v) => top + plotH - Math.max(1, Math.abs(v) / max * plotH);
      values.forEach((v, i) => {
        const x = x0 + i * (barW + gap);
        const rect = svg("rect", { x, y: barTop(v), width: barW, height: top + plotH - barTop(v), rx: 2, fill: W.color(i), class: "chart-bar", "data-run": i + 1 });
        rect.appendChild(svg("title", null, `${summary.runs[i].key} ${m.path}: ${W.num(m.values[i])}`));
        chartSvg.appendChild(rect);
      });
      // The labels over all the bars. Small values in short exponent form. A label wider
      // than its bar clears its neighbours' bars too, and goes a line above the previous
      // label when the two would touch.
      let previousLabelY = null;
      values.forEach((v, i) => {
        const x = x0 + i * (barW + gap);
        const label = Math.abs(v) > 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : W.num(v, 2);
        const wide = label.length > 2;
        const under = (wide ? values.slice(Math.max(0, i - 1), i + 2) : [v]).map(barTop);
        let y = Math.min(...under) - 3;
        if (previousLabelY !== null && wide && Math.abs(y - previousLabelY) < 11) y = previousLabelY - 11;
        previousLabelY = y;
        chartSvg.appendChild(svg("text", { x: x + barW / 2, y, "text-anchor": "middle", class: "muted chart-label" }, label));
      });
      const name = m.path.replace(/\.(mean|true_fraction)$/, "");
      chartSvg.appendChild(svg("text", { x: x0, y: h - bottom + 14 }, name.length > 15 ? name.slice(0, 14) + "…" : name));
      const leaf = m.path.split(".").pop();
      chartSvg.appendChild(svg("text", { x: x0, y: h - bottom + 27, class: "muted" }, leaf.length > 15 ? leaf.slice(0, 14) + "…" : leaf));
      chartSvg.appendChild(svg("line", { x1: x0 - 3, x2: x0 + runs * (barW + gap), y1: top + plotH, y2: top + plotH, stroke: "#c5cbd6" }));
    });
    return chartSvg;
  }

  function rowsSection() {
    const query = el("input", { type: "text", id: "rows-query", value: params().get("q") || "", placeholder: "filter rows, e.g. exact_match = false AND model_latency > 0.01", spellcheck: "false" });
    query.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadRows, 350); });
    query.addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); loadRows(); } });
    const group = el("select", { id: "rows-group-by", title: "group rows by" }, el("option", { value: "" }, "no grouping"));
    const columns = ["trial", "model_latency"].concat((summary.input_columns || []).map((c) => "inputs." + c), summary.score_columns || []);
    for (const c of columns) group.appendChild(el("option", { value: c }, "group by " + c));
    group.value = params().get("group_by") || "";
    group.addEventListener("change", loadRows);
    const agg = el("select", { id: "rows-agg", title: "aggregate" }, ["mean", "sum", "count"].map((a) => el("option", { value: a }, a)));
    agg.value = params().get("agg") || "mean";
    agg.addEventListener("change", loadRows);
    return el("div", { class: "section", id: "rows-section" },
      el("h3", null, "Rows"),
      el("div", { class: "rows-tools" }, query, group, agg, el("span", { id: "rows-count", class: "muted" })),
      el("div", { class: "help" }, "Comparisons = != < <= > >= CONTAINS, AND OR NOT, parentheses; columns like exact_match, scores.judge.correct, output, inputs.question, trial, run2.scores.x. A row shows when the query holds for any run."),
      el("div", { id: "rows-error" }),
      el("div", { id: "rows-groups" }),
      el("div", { id: "rows-table" }),
    );
  }

  async function loadRows() {
    const q = document.getElementById("rows-query").value.trim();
    const groupBy = document.getElementById("rows-group-by").value;
    const agg = document.getElementById("rows-agg").value;
    const url = new URL(location.href);
    for (const [k, v] of [["q", q], ["group_by", groupBy], ["sort", sort], ["desc", desc ? "1" : ""], ["agg", agg === "mean" ? "" : agg]]) {
      if (v) url.searchParams.set(k, v); else url.searchParams.delete(k);
    }
    history.replaceState(null, "", url.pathname + url.search);
    const api_q = new URLSearchParams({ ids: ids.join(",") });
    if (q) api_q.set("q", q);
    if (groupBy) api_q.set("group_by", groupBy);
    if (sort) api_q.set("sort", sort);
    if (desc) api_q.set("desc", "1");
    const errorBox = clear(document.getElementById("rows-error"));
    try {
      const body = await api("/api/compare/rows?" + api_q.toString());
      document.getElementById("rows-count").textContent = `${body.count} of ${body.total} rows`;
      drawGroups(body, agg);
      drawRows(body);
    } catch (e) {
      errorBox.appendChild(el("div", { class: "notice" }, e.message));
    }
  }

  function drawGroups(body, agg) {
    const box = clear(document.getElementById("rows-groups"));
    if (!body.groups) return;
    const g = body.groups;
    const headers = [g.by, "Run", el("th", { class: "num" }, "count")];
    for (const c of g.columns) headers.push(el("th", { class: "num" }, `${agg} ${c}`));
    const rows = [];
    for (const group of g.groups) {
      group.runs.forEach((stats, i) => {
        if (!stats) return;
        const tr = el("tr", { class: "group-row" }, el("td", { class: "mono" }, W.brief(group.key)), el("td", null, swatch(i), body.runs[i].key), el("td", { class: "num" }, W.num(stats.count)));
        for (const c of g.columns) {
          const s = stats.columns[c];
          tr.appendChild(el("td", { class: "num" }, s ? W.num(s[agg], 4) : ""));
        }
        rows.push(tr);
      });
    }
    box.appendChild(el("div", { class: "section" }, W.table(headers, rows, { id: "groups-table" })));
  }

  function sortHeader(label, path, extra) {
    const active = sort === path;
    return el("th", {
      class: "sortable" + (extra ? " " + extra : ""),
      "data-sort": path,
      title: "sort by " + path,
      onclick: () => {
        if (sort === path) desc = !desc; else { sort = path; desc = false; }
        loadRows();
      },
    }, label, active ? (desc ? " ▼" : " ▲") : "");
  }

  function scoreCell(v) {
    const cls = v === true ? "score-true num" : v === false ? "score-false num" : "num";
    return el("td", { class: cls }, v === undefined ? "" : typeof v === "number" ? W.num(v, 3) : W.brief(v, 60));
  }

  function drawRows(body) {
    const box = clear(document.getElementById("rows-table"));
    const scores = body.score_columns || [];
    const headers = [sortHeader("Row", "row"), el("th", null, "Trial"), sortHeader("Inputs", "inputs")];
    body.runs.forEach((r, i) => {
      headers.push(sortHeader([swatch(i), `${r.key} output`], `${r.key}.output`));
      for (const s of scores) headers.push(sortHeader(`${r.key} ${s}`, `${r.key}.scores.${s}`, "num"));
      headers.push(sortHeader(`${r.key} latency`, `${r.key}.model_latency`, "num"));
    });
    const rows = body.rows.map((row) => {
      const first = row.trial === 0;
      const link = row.runs.find((r) => r) || null;
      const tr = el("tr", {
        class: "compare-row clickable " + (first ? "trial-first" : "trial-cont"),
        "data-row": row.index + 1, "data-trial": row.trial + 1,
        title: "open this row's trace",
        onclick: (e) => {
          if (e.target.closest("a") || !link) return;
          location.assign("/trace/" + encodeURIComponent(link.trace_id) + "?call=" + encodeURIComponent(link.call_id));
        },
      },
        el("td", { class: "num" }, first || sort ? String(row.index + 1) : ""),
        el("td", { class: "num muted" }, row.trials > 1 ? `${row.trial + 1}/${row.trials}` : ""),
        el("td", { class: "out inputs" }, first || sort ? inputsText(row.inputs) : el("span", { class: "muted" }, "↳ same row")),
      );
      row.runs.forEach((r) => {
        if (!r) {
          tr.appendChild(el("td", { class: "muted" }, "—"));
          for (let i = 0; i < scores.length + 1; i++) tr.appendChild(el("td"));
          return;
        }
        const href = "/trace/" + encodeURIComponent(r.trace_id) + "?call=" + encodeURIComponent(r.call_id);
        tr.appendChild(el("td", { class: "out" }, r.error ? el("span", { class: "error-text" }, r.error) : el("a", { href }, W.brief(r.output, 300))));
        for (const s of scores) tr.appendChild(scoreCell(r.scores[s]));
        tr.appendChild(el("td", { class: "num" }, typeof r.model_latency === "number" ? W.ms(r.model_latency * 1000) : ""));
      });
      return tr;
    });
    box.appendChild(W.table(headers, rows, { id: "compare-rows" }));
    if (body.truncated) box.appendChild(el("div", { class: "help" }, "Only the first rows are shown: narrow the query."));
  }

  function inputsText(inputs) {
    if (inputs && typeof inputs === "object" && !Array.isArray(inputs)) {
      return el("div", null, Object.entries(inputs).map(([k, v]) => el("div", null, el("span", { class: "muted" }, k + ": "), W.brief(v, 240))));
    }
    return W.brief(inputs, 240);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
