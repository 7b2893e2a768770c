// weave ui: shared helpers. Every captured value goes into the page as text
// (textContent / text nodes); links are made only for the viewer's own routes.
"use strict";

const W = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg";

  /** A path of this viewer ("/trace/x"), never another origin or a javascript: URL. */
  function internalHref(path) {
    if (typeof path !== "string") return null;
    if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\")) return null;
    return path;
  }

  /** el("div", {class: "x", onclick: f}, "text", child, ...). Strings become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    setProps(node, props);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
  }

  function setProps(node, props) {
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else if (k === "href") {
        const href = internalHref(v);
        if (href) node.setAttribute("href", href);
      } else if (k === "value") node.value = v;
      else if (k === "checked") node.checked = !!v;
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error ? body.error : response.status + " " + response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function post(path, value) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
  }

  const content = () => document.getElementById("content");
  const tools = () => document.getElementById("page-tools");
  const params = () => new URLSearchParams(location.search);

  function showError(where, error) {
    const box = el("div", { class: "notice" }, String(error && error.message ? error.message : error));
    if (where) clear(where).appendChild(box);
    return box;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function time(us) {
    if (us === null || us === undefined) return "";
    const d = new Date(us / 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function ago(us) {
    if (!us) return "";
    const s = Math.max(0, (Date.now() * 1000 - us) / 1e6);
    if (s < 60) return Math.round(s) + "s ago";
    if (s < 3600) return Math.round(s / 60) + "m ago";
    if (s < 86400) return Math.round(s / 3600) + "h ago";
    return Math.round(s / 86400) + "d ago";
  }

  function ms(value) {
    if (value === null || value === undefined) return "";
    if (value < 1) return value.toFixed(2) + " ms";
    if (value < 1000) return value.toFixed(1) + " ms";
    return (value / 1000).toFixed(2) + " s";
  }

  function num(x, digits) {
    if (x === null || x === undefined || x === "") return "";
    if (typeof x !== "number") return String(x);
    if (Number.isInteger(x)) return x.toLocaleString("en-US");
    const rounded = Number(x.toFixed(digits === undefined ? 4 : digits));
    // Too small for the digits: short exponent form, not a 0 that is not one.
    return rounded === 0 ? x.toExponential(1) : String(rounded);
  }

  function cost(x) {
    if (x === null || x === undefined) return "";
    return x < 0.01 ? "$" + x.toFixed(5) : "$" + x.toFixed(3);
  }

  /** A call's cost: as recorded by the SDK, or marked "estimated" (from the usage, at list prices). */
  function costView(x, estimated) {
    if (x === null || x === undefined) return "";
    return el("span", { class: "cost", title: estimated ? "estimated from the token usage at list prices" : "recorded by the SDK" },
      cost(x), estimated ? el("span", { class: "muted small cost-estimated" }, " estimated") : null);
  }

  function pct(x) {
    return x === null || x === undefined ? "" : (x * 100).toFixed(1) + "%";
  }

  function status(s) {
    const labels = { success: "success", error: "error", running: "running", descendant_error: "child error" };
    return el("span", { class: "status " + s, title: s }, labels[s] || s);
  }

  function short(id) {
    return id ? String(id).slice(-8) : "";
  }

  /** A value as one line of text (for table cells). */
  function brief(value, max) {
    let text;
    if (value === null || value === undefined) text = "";
    else if (typeof value === "string") text = value;
    else text = JSON.stringify(value);
    max = max || 160;
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function isRef(value) {
    return typeof value === "string" && value.startsWith("weave:///");
  }

  /** A collapsible view of a JSON value; long strings in a readable block, refs expandable. */
  function jsonView(value, options) {
    const opts = options || {};
    const root = el("div", { class: "json" });
    root.appendChild(jsonNode(value, 0, opts.open === undefined ? 2 : opts.open));
    return root;
  }

  function scalar(value) {
    if (value === null || value === undefined) return el("span", { class: "null" }, "null");
    if (typeof value === "boolean") return el("span", { class: "bool" }, String(value));
    if (typeof value === "number") return el("span", { class: "num" }, String(value));
    if (isRef(value)) return refNode(value);
    if (value.length > 90 || value.includes("\n")) return el("span", { class: "str long" }, value);
    return el("span", { class: "str" }, JSON.stringify(value));
  }

  function refNode(uri) {
    const wrap = el("span", { class: "ref" }, uri);
    if (uri.includes("/op/") || uri.includes("/call/")) return wrap;
    const button = el("button", {
      class: "mini",
      type: "button",
      title: "show what this ref names",
      onclick: async (event) => {
        event.preventDefault();
        button.disabled = true;
        try {
          const body = await api("/api/ref?uri=" + encodeURIComponent(uri));
          wrap.appendChild(jsonView(body.value, { open: 1 }));
          button.remove();
        } catch (e) {
          button.replaceWith(el("span", { class: "error-text small" }, " " + e.message));
        }
      },
    }, "expand");
    wrap.appendChild(button);
    return wrap;
  }

  function jsonNode(value, depth, openDepth) {
    const isArray = Array.isArray(value);
    if (value === null || typeof value !== "object") return scalar(value);
    const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
    if (entries.length === 0) return el("span", { class: "null" }, isArray ? "[]" : "{}");
    const details = el("details");
    if (depth < openDepth) details.open = true;
    const label = isArray ? `[${entries.length}]` : `{${entries.length}}`;
    details.appendChild(el("summary", { class: "muted" }, label));
    const children = el("div", { class: "children" });
    for (const [k, v] of entries.slice(0, 500)) {
      const line = el("div");
      line.appendChild(el("span", { class: "key" }, isArray ? String(k) : k));
      line.appendChild(document.createTextNode(": "));
      line.appendChild(jsonNode(v, depth + 1, openDepth));
      children.appendChild(line);
    }
    if (entries.length > 500) children.appendChild(el("div", { class: "muted" }, `… ${entries.length - 500} more`));
    details.appendChild(children);
    return details;
  }

  function table(headers, rows, attrs) {
    const t = el("table", Object.assign({ class: "grid" }, attrs || {}));
    const head = el("tr");
    for (const h of headers) head.appendChild(typeof h === "string" ? el("th", null, h) : h);
    t.appendChild(el("thead", null, head));
    const body = el("tbody");
    for (const r of rows) body.appendChild(r);
    t.appendChild(body);
    return t;
  }

  function stat(label, value) {
    return el("div", { class: "stat" }, el("b", null, value === "" || value === undefined ? "—" : value), el("span", null, label));
  }

  const COLORS = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8"];
  function color(i) {
    return `var(${COLORS[i % COLORS.length]})`;
  }

  async function footer() {
    try {
      const s = await api("/api/status");
      const foot = document.getElementById("nav-store");
      if (foot) foot.textContent = s.store;
      indexing(s);
    } catch (_) {
      /* the page shows its own errors */
    }
  }
  document.addEventListener("DOMContentLoaded", footer);

  /** The banner under every page's title while calls written are not shown yet
   *  (/api/status's "indexing"); removed once they all are. */
  function indexing(status) {
    const pending = status && status.indexing ? status.indexing.calls : 0;
    let banner = document.getElementById("indexing");
    if (!(pending > 0)) {
      if (banner) banner.remove();
      return;
    }
    if (!banner) {
      const head = document.querySelector("header.page-head");
      if (!head) return;
      banner = el("div", { id: "indexing", class: "help", role: "status" });
      head.insertAdjacentElement("afterend", banner);
    }
    banner.textContent = `Indexing ${status.indexing.percent}% done: about ${num(pending)} calls written are ` +
      "not shown yet; they appear as they are indexed.";
  }

  return { el, svg, clear, api, post, content, tools, params, showError, indexing, time, ago, ms, num, cost, costView, pct, status, short, brief, jsonView, table, stat, color, internalHref, isRef };
})();
