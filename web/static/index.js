// readtag index — live "N reading now" next to each post.
//
// Progressive enhancement: without this script the index is a plain list.
// Protocol (docs/protocol.md): /ws/index sends {"type":"counts","counts":
// {"slug":n,…}} at once and whenever a count changes (at most once a second);
// posts missing from counts have no readers. The page sends nothing.
(() => {
  "use strict";

  if (typeof WebSocket !== "function") return;
  const badges = new Map(); // slug -> the item's .reading-now element
  for (const item of document.querySelectorAll(".post-item[data-slug]")) {
    const badge = item.querySelector(".reading-now");
    if (badge) badges.set(item.dataset.slug, badge);
  }
  if (badges.size === 0) return;

  const RETRY_BASE_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/index";
  let retryDelay = RETRY_BASE_MS;
  let leaving = false;

  function show(counts) {
    for (const [slug, badge] of badges) {
      const n = Number.isInteger(counts[slug]) ? counts[slug] : 0;
      badge.hidden = n <= 0;
      badge.textContent = n > 0 ? n + " reading now" : "";
    }
  }

  function connect() {
    const ws = new WebSocket(url);
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame && frame.type === "counts" && frame.counts && typeof frame.counts === "object") {
        retryDelay = RETRY_BASE_MS;
        show(frame.counts);
      }
    };
    ws.onclose = () => {
      // Stale counts would mislead: hide them until the channel is back.
      show({});
      if (leaving) return;
      setTimeout(connect, retryDelay * (0.5 + Math.random()));
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    };
  }

  addEventListener("pagehide", () => { leaving = true; });
  addEventListener("pageshow", (ev) => { if (ev.persisted) { leaving = false; connect(); } });
  connect();
})();
