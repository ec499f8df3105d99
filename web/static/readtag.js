// readtag — live "ghost" tags for everyone else reading this post.
//
// Progressive enhancement only: without this script (or without a server
// connection) the post is an ordinary page. Protocol: JSON text frames over
// /ws/posts/{slug}; see handle() for server frames and sendPosition() for ours.
(() => {
  "use strict";

  const slug = document.body && document.body.dataset.slug;
  const article = document.getElementById("article");
  if (!slug || !article || !article.parentElement || typeof WebSocket !== "function") return;

  // The server closes clients above 50 frames/s; 50 ms keeps us at ≤ 20/s.
  const SEND_INTERVAL_MS = 50;
  const RETRY_BASE_MS = 500;
  const RETRY_MAX_MS = 15000;
  // A socket that never opened was refused (503/429 at the cap: a page cannot
  // see the status) or found no server; 1013 is "try again later". Both back
  // off further, so a full node is not kept busy by its own refusals.
  const RETRY_REFUSED_MAX_MS = 60000;
  const FALLBACK_COLOR = "#8a8f98";

  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/ws/posts/" + encodeURIComponent(slug);

  const container = article.parentElement;
  const presence = document.getElementById("presence");

  let ws = null;            // the live socket, or null between attempts
  let connected = false;    // true from a welcome until the socket closes
  let youId = null;
  const ghosts = new Map(); // id -> { el, position } for every OTHER reader

  let lastSent = null;      // last position sent on this connection
  let lastSentAt = -Infinity;
  let sendTimer = 0;

  let retryDelay = RETRY_BASE_MS;
  let retryTimer = 0;
  let leaving = false;      // set on pagehide: never reconnect while unloading

  // ---------- Rail ----------

  // The rail is positioned against the article's parent, so make sure that
  // parent is a containing block even if the stylesheet did not say so.
  if (getComputedStyle(container).position === "static") container.style.position = "relative";

  const rail = document.createElement("div");
  rail.id = "ghost-rail";
  rail.setAttribute("aria-hidden", "true");

  const self = document.createElement("div");
  self.className = "ghost ghost-self";
  self.title = "You are here";
  self.textContent = "you";
  self.hidden = true;
  rail.append(self);
  container.insertBefore(rail, article);

  // Keep the rail exactly over the article's vertical extent; measured rather
  // than assumed because headers, images and web fonts can all move it.
  function syncRail() {
    const a = article.getBoundingClientRect();
    const c = container.getBoundingClientRect();
    const top = a.top - c.top - container.clientTop;
    const left = a.left - c.left - container.clientLeft;
    rail.style.top = top.toFixed(2) + "px";
    rail.style.height = a.height.toFixed(2) + "px";
    rail.style.setProperty("--article-left", left.toFixed(2) + "px");
  }

  // ---------- Ghosts ----------

  function clamp01(n) {
    n = Number(n);
    if (!Number.isFinite(n)) return 0;
    return n < 0 ? 0 : n > 1 ? 1 : n;
  }

  function validColor(c) {
    return typeof c === "string" && /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(c) ? c : FALLBACK_COLOR;
  }

  // WCAG relative luminance; picks whichever ink contrasts more with the tag.
  function wantsLightInk(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    const [r, g, b] = [0, 2, 4].map((i) => {
      const v = parseInt(h.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const dark = 0.0056; // luminance of the #111 ink used in the CSS
    return 1.05 / (lum + 0.05) > (lum + 0.05) / (dark + 0.05);
  }

  // A stable 0..1 value per id so readers at the same spot fan out a little
  // instead of stacking into one tag.
  function spread(id) {
    let h = 2166136261;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
    return ((h >>> 0) % 5) / 4;
  }

  function setColor(el, color) {
    const c = validColor(color);
    el.style.setProperty("--c", c);
    el.classList.toggle("ghost-ink-light", wantsLightInk(c));
  }

  function setPosition(g, position) {
    const p = clamp01(position);
    if (g.position === p) return;
    g.position = p;
    g.el.dataset.position = String(p);
    g.el.title = "Another reader is here — " + Math.round(p * 100) + "% through";
    g.el.style.setProperty("--p", String(p));
  }

  function upsertGhost(reader) {
    if (!reader || typeof reader.id !== "string" || !reader.id || reader.id === youId) return;
    let g = ghosts.get(reader.id);
    if (!g) {
      const el = document.createElement("div");
      el.className = "ghost ghost-enter";
      el.dataset.id = reader.id;
      el.textContent = "reader";
      el.addEventListener("animationend", () => el.classList.remove("ghost-enter"), { once: true });
      g = { el, position: null };
      ghosts.set(reader.id, g);
      setPosition(g, reader.position); // sets --p before --c, as in the contract
      setColor(el, reader.color);
      el.style.setProperty("--x", String(spread(reader.id)));
      rail.append(el);
      return;
    }
    setColor(g.el, reader.color);
    setPosition(g, reader.position);
  }

  function removeGhost(id) {
    const g = ghosts.get(id);
    if (!g) return;
    g.el.remove();
    ghosts.delete(id);
  }

  function clearGhosts() {
    for (const g of ghosts.values()) g.el.remove();
    ghosts.clear();
    setCrowd(0, null);
  }

  // ---------- Crowd (a post with many readers) ----------

  // In a crowded post the server shows each reader only the readers nearest
  // to it (and the latest movers), and sends the post's reader count and a
  // density summary: 50 bands of 2 % each, drawn as a faint heat strip.
  let crowdTotal = 0;
  const heat = document.createElement("div");
  heat.className = "ghost-heat";
  heat.hidden = true;
  rail.prepend(heat);

  function setCrowd(total, bands) {
    crowdTotal = total > 0 ? total : 0;
    if (!Array.isArray(bands) || bands.length === 0) {
      heat.hidden = true;
      return;
    }
    const peak = Math.max(1, ...bands.map((n) => Number(n) || 0));
    const step = 100 / bands.length;
    const stops = bands.map((n, i) => {
      const a = (0.08 + 0.5 * (Number(n) || 0) / peak).toFixed(3);
      const c = (Number(n) || 0) > 0 ? "rgb(120 120 140 / " + a + ")" : "transparent";
      return c + " " + (i * step).toFixed(2) + "% " + ((i + 1) * step).toFixed(2) + "%";
    });
    heat.style.background = "linear-gradient(to bottom, " + stops.join(", ") + ")";
    heat.hidden = false;
  }

  // ---------- Presence line ----------

  function updatePresence() {
    if (!presence) return;
    const wasHidden = presence.hidden;
    if (!connected) {
      presence.hidden = true;
      presence.textContent = "";
    } else {
      const n = crowdTotal > 0 ? crowdTotal : ghosts.size + 1;
      const text = n === 1 ? "1 reading now — just you" : n + " reading now";
      if (presence.textContent !== text) presence.textContent = text;
      presence.hidden = false;
    }
    // Showing/hiding the line moves the article, so the rail must follow.
    if (wasHidden !== presence.hidden) syncRail();
  }

  // ---------- Outgoing position ----------

  function currentPosition() {
    const r = article.getBoundingClientRect();
    if (!(r.height > 0)) return 0;
    return Math.round(clamp01(-r.top / r.height) * 10000) / 10000;
  }

  function sendPosition(force) {
    if (!connected || !ws || ws.readyState !== WebSocket.OPEN) return;
    const position = currentPosition();
    if (!force && position === lastSent) return;
    ws.send(JSON.stringify({ type: "scroll", position }));
    lastSent = position;
    lastSentAt = performance.now();
  }

  // Throttle with a trailing send: at most one frame per interval, and the
  // position we come to rest at is always sent once the interval has passed.
  function scheduleSend() {
    if (!connected || sendTimer) return;
    const wait = lastSentAt + SEND_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      sendPosition(false);
      return;
    }
    sendTimer = setTimeout(() => {
      sendTimer = 0;
      scheduleSend();
    }, wait);
  }

  function cancelSend() {
    clearTimeout(sendTimer);
    sendTimer = 0;
  }

  // ---------- Incoming frames ----------

  function applyMoves(moves) {
    if (!Array.isArray(moves)) return;
    for (const m of moves) {
      if (!m || m.id === youId) continue;
      const g = ghosts.get(m.id);
      if (g) setPosition(g, m.position);
    }
  }

  function handle(msg) {
    switch (msg.type) {
      case "welcome": {
        const you = msg.you && typeof msg.you === "object" ? msg.you : {};
        youId = typeof you.id === "string" ? you.id : null;
        // A welcome is the whole truth: rebuild from scratch (also on reconnect).
        clearGhosts();
        if (Array.isArray(msg.readers)) msg.readers.forEach(upsertGhost);
        setColor(self, you.color);
        self.hidden = false;
        connected = true;
        retryDelay = RETRY_BASE_MS;
        updatePresence();
        syncRail();
        lastSent = null;
        cancelSend();
        sendPosition(true);
        break;
      }
      case "join":
        upsertGhost(msg.reader);
        updatePresence();
        break;
      case "leave":
        removeGhost(msg.id);
        updatePresence();
        break;
      case "moves":
        applyMoves(msg.moves);
        break;
      case "crowd":
        if (Array.isArray(msg.leave)) msg.leave.forEach(removeGhost);
        if (Array.isArray(msg.join)) msg.join.forEach(upsertGhost);
        applyMoves(msg.moves);
        setCrowd(Number(msg.total) || 0, msg.bands);
        updatePresence();
        break;
      case "error":
        console.warn("readtag: server error:", msg.error);
        break;
      default:
        // Unknown types are ignored so the server can add new ones.
        break;
    }
  }

  // ---------- Connection ----------

  function connect() {
    retryTimer = 0;
    if (leaving || ws) return;
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (err) {
      console.warn("readtag: cannot open live connection:", err);
      scheduleReconnect(false);
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = () => { opened = true; };
    sock.onmessage = (ev) => {
      if (sock !== ws || typeof ev.data !== "string") return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn("readtag: ignoring malformed frame");
        return;
      }
      if (msg && typeof msg === "object" && typeof msg.type === "string") handle(msg);
    };
    // An error is always followed by close, so close alone drives recovery.
    sock.onerror = () => {};
    sock.onclose = (ev) => {
      if (sock !== ws) return;
      ws = null;
      goOffline();
      const tooMany = ev.code === 1008 && /too many/i.test(ev.reason || "");
      scheduleReconnect(tooMany, !opened || ev.code === 1013);
    };
  }

  // Everything we show about others is stale once the socket is gone.
  function goOffline() {
    connected = false;
    cancelSend();
    lastSent = null;
    clearGhosts();
    self.hidden = true;
    updatePresence();
  }

  function scheduleReconnect(useMax, refused) {
    if (leaving || retryTimer) return;
    if (useMax) retryDelay = RETRY_MAX_MS;
    // 50–100% jitter so a restarted server is not hit by everyone at once.
    const delay = retryDelay * (0.5 + Math.random() * 0.5);
    retryDelay = Math.min(retryDelay * 2, refused ? RETRY_REFUSED_MAX_MS : RETRY_MAX_MS);
    retryTimer = setTimeout(connect, delay);
  }

  // ---------- Wiring ----------

  addEventListener("scroll", scheduleSend, { passive: true });
  addEventListener("resize", () => {
    syncRail();
    scheduleSend();
  });

  if (typeof ResizeObserver === "function") {
    // Images, fonts and the presence line reflow the article after load.
    const ro = new ResizeObserver(() => {
      syncRail();
      scheduleSend();
    });
    ro.observe(article);
    ro.observe(container);
  } else {
    addEventListener("load", syncRail);
  }
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(syncRail, () => {});

  addEventListener("pagehide", () => {
    leaving = true;
    clearTimeout(retryTimer);
    retryTimer = 0;
    const sock = ws;
    ws = null;
    if (sock) {
      sock.onclose = sock.onmessage = sock.onerror = null;
      try { sock.close(1000, "page hidden"); } catch { /* already closing */ }
    }
    goOffline();
  });
  // Restored from the back/forward cache: come back to life.
  addEventListener("pageshow", (ev) => {
    if (!ev.persisted) return;
    leaving = false;
    retryDelay = RETRY_BASE_MS;
    syncRail();
    connect();
  });

  // Read-only debug hook for tests.
  Object.defineProperty(window, "readtag", {
    value: Object.freeze({
      state: () => ({
        connected,
        you: youId,
        ghosts: Object.fromEntries([...ghosts].map(([id, g]) => [id, g.position])),
        total: crowdTotal,
      }),
    }),
    enumerable: true,
  });

  syncRail();
  connect();
})();
