// The threads page: conversations, most recently active first.
"use strict";
(() => {
  const { el, api, clear, content } = W;

  async function start() {
    const root = clear(content());
    try {
      const body = await api("/api/threads");
      const list = el("div", { id: "threads-list" });
      if (body.threads.length === 0) {
        list.appendChild(el("div", { class: "empty panel" }, "No threads: calls made inside weave::thread(\"id\") show up here."));
      } else {
        const num = (h) => el("th", { class: "num" }, h);
        const rows = body.threads.map((t) => el("tr", { class: "thread-row clickable", "data-thread-id": t.thread_id, onclick: (e) => { if (!e.target.closest("a")) location.assign("/thread/" + encodeURIComponent(t.thread_id)); } },
          el("td", { class: "mono" }, el("a", { href: "/thread/" + encodeURIComponent(t.thread_id) }, t.thread_id)),
          el("td", { class: "num" }, W.num(t.turns)),
          el("td", { class: "num" }, W.num(t.calls)),
          el("td", { class: "mono small" }, W.time(t.first_started_us)),
          el("td", { class: "muted" }, W.ago(t.last_started_us)),
        ));
        list.appendChild(W.table(["Thread", num("Turns"), num("Calls"), "Started", "Last turn"], rows));
      }
      root.appendChild(list);
    } catch (e) {
      W.showError(root, e);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
