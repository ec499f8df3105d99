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
  const HIDDEN_KEY = "readtag.hidden";

  const container = article.parentElement;
  const presence = document.getElementById("presence");
  const hideButton = document.getElementById("hide-me");
  const wide = matchMedia("(min-width: 900px)");
  const reduceMotion = matchMedia("(prefers-reduced-motion: reduce)");

  let ws = null;            // the live socket, or null between attempts
  let connected = false;    // true from a welcome until the socket closes
  let state = "connecting"; // connecting | live | reconnecting | offline
  let youId = null;
  let youName = "";
  const ghosts = new Map(); // id -> { el, position, name } for every OTHER reader

  let lastSent = null;      // last position sent on this connection
  let lastSentAt = -Infinity;
  let sendTimer = 0;

  let retryDelay = RETRY_BASE_MS;
  let retryTimer = 0;
  let retryAt = 0;          // when the next attempt is due (performance.now())
  let countdown = 0;        // interval updating the pill while reconnecting
  let leaving = false;      // set on pagehide: never reconnect while unloading

  let hidden = false;       // "hide me": not shown to other readers
  try { hidden = localStorage.getItem(HIDDEN_KEY) === "1"; } catch { /* storage blocked */ }

  // ---------- Rail ----------

  // The rail is positioned against the article's parent, so make sure that
  // parent is a containing block even if the stylesheet did not say so.
  if (getComputedStyle(container).position === "static") container.style.position = "relative";

  // The rail and everything in it are hidden from screen readers: the count
  // in the presence line is what they announce.
  const rail = document.createElement("div");
  rail.id = "ghost-rail";
  rail.setAttribute("aria-hidden", "true");

  const svgNS = "http://www.w3.org/2000/svg";
  const leaders = document.createElementNS(svgNS, "svg");
  leaders.setAttribute("class", "ghost-leaders");

  const self = makeTag("ghost ghost-self", "you");
  self.hidden = true;

  // "+N" chips, one per full stack (see layout), made as needed.
  const chips = [];

  // One shared tooltip: name and how far that reader has read.
  const tip = document.createElement("div");
  tip.className = "ghost-tip";
  tip.hidden = true;

  rail.append(leaders, self, tip);
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
    scheduleLayout();
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

  function validName(n) {
    return typeof n === "string" && n.trim() ? n.trim().slice(0, 40) : "A reader";
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

  function makeTag(className, text) {
    // A button so that a click, a tap and focus all work; out of the tab
    // order because the rail is hidden from assistive technology.
    const el = document.createElement("button");
    el.type = "button";
    el.tabIndex = -1;
    el.className = className;
    el.textContent = text;
    return el;
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
    scheduleLayout();
  }

  function upsertGhost(reader) {
    if (!reader || typeof reader.id !== "string" || !reader.id || reader.id === youId) return;
    let g = ghosts.get(reader.id);
    if (!g) {
      const name = validName(reader.name);
      const el = makeTag("ghost ghost-enter", name);
      el.dataset.id = reader.id;
      el.dataset.name = name;
      el.addEventListener("animationend", () => el.classList.remove("ghost-enter"), { once: true });
      g = { el, position: null, name };
      ghosts.set(reader.id, g);
      setPosition(g, reader.position);
      setColor(el, reader.color);
      rail.insertBefore(el, tip);
      return;
    }
    setColor(g.el, reader.color);
    setPosition(g, reader.position);
  }

  function removeGhost(id) {
    const g = ghosts.get(id);
    if (!g) return;
    if (tipFor === g.el) hideTip();
    g.el.remove();
    ghosts.delete(id);
    scheduleLayout();
  }

  function clearGhosts() {
    for (const g of ghosts.values()) g.el.remove();
    ghosts.clear();
    hideTip();
    setCrowd(0, null);
    scheduleLayout();
  }

  // ---------- Layout: no tag ever covers another ----------

  // Tags are laid out top to bottom in the order of their true positions.
  // A tag that would overlap the one above it joins that one's stack, drawn
  // just below it with a thin leader line to where it really is. A stack
  // holds at most maxSlots tags; the rest of that spot's readers fold into
  // a "+N" chip in its last slot. Your own marker is a tag like the others
  // (always shown, never folded), so it never covers anyone. Every stack
  // starts below the previous one ends, so boxes cannot intersect.
  let layoutQueued = false;
  let lastLayout = { shown: 0, folded: 0, chips: 0 };

  function scheduleLayout() {
    if (layoutQueued) return;
    layoutQueued = true;
    // rAF does not run in background tabs; the timer makes sure it happens.
    const run = () => {
      if (!layoutQueued) return;
      layoutQueued = false;
      layout();
    };
    requestAnimationFrame(run);
    setTimeout(run, 100);
  }

  function layout() {
    const height = article.getBoundingClientRect().height;
    const desktop = wide.matches;
    const gap = 3;
    const maxSlots = desktop ? 6 : 5;
    const nudge = desktop ? 4 : 0;

    const items = [];
    for (const [id, g] of ghosts) items.push({ id, el: g.el, position: g.position, name: g.name });
    if (!self.hidden) items.push({ id: youId, el: self, position: currentPosition(), self: true });
    items.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
    for (const it of items) it.el.hidden = false;

    // Every box has the same height (one line of text, or a dot).
    const slot = items.length ? items[0].el.offsetHeight : 0;
    const step = slot + gap;

    const stacks = [];
    let cur = null;
    for (const it of items) {
      it.y = it.position * height + nudge;
      if (cur && it.y < cur.top + Math.min(cur.items.length, maxSlots) * step) {
        cur.items.push(it);
      } else {
        cur = { top: it.y, items: [it] };
        stacks.push(cur);
      }
    }

    const lines = [];
    let shown = 0;
    let nchips = 0;
    let nfolded = 0;
    for (const st of stacks) {
      let visible = st.items;
      let rest = [];
      if (st.items.length > maxSlots) {
        // The first maxSlots-1 by position, but always yourself.
        visible = st.items.slice(0, maxSlots - 1);
        rest = st.items.slice(maxSlots - 1);
        const mine = rest.findIndex((it) => it.self);
        if (mine >= 0) {
          rest.push(visible.pop());
          visible.push(rest.splice(mine, 1)[0]);
          rest.sort((a, b) => a.position - b.position);
        }
      }
      visible.forEach((it, i) => {
        const top = st.top + i * step;
        it.el.style.top = top.toFixed(1) + "px";
        shown++;
        if (Math.abs(top - it.y) > 1) lines.push({ from: top + slot / 2, to: it.y + slot / 2, el: it.el });
      });
      for (const it of rest) it.el.hidden = true;
      if (rest.length) {
        const chip = chips[nchips] || newChip();
        nchips++;
        chip.root.hidden = false;
        chip.root.style.top = (st.top + visible.length * step).toFixed(1) + "px";
        chip.button.textContent = "+" + rest.length;
        chip.folded = rest;
        if (chip.root.classList.contains("open")) renderList(chip);
        nfolded += rest.length;
      }
    }
    for (let i = nchips; i < chips.length; i++) {
      chips[i].root.hidden = true;
      chips[i].root.classList.remove("open");
      chips[i].folded = [];
    }
    drawLeaders(lines);
    lastLayout = { shown, folded: nfolded, chips: nchips };
    if (tipFor && !tipFor.hidden) placeTip(tipFor);
    else if (tipFor) hideTip();
  }

  function newChip() {
    const root = document.createElement("div");
    root.className = "ghost-more";
    const button = makeTag("ghost-more-count", "");
    const list = document.createElement("div");
    list.className = "ghost-list";
    root.append(button, list);
    const chip = { root, button, list, folded: [] };
    // Hover or focus opens the list (CSS); a tap or click toggles it.
    root.addEventListener("pointerenter", () => renderList(chip));
    root.addEventListener("focusin", () => renderList(chip));
    button.addEventListener("click", () => {
      renderList(chip);
      root.classList.toggle("open");
    });
    rail.insertBefore(root, tip);
    chips.push(chip);
    return chip;
  }

  function drawLeaders(lines) {
    const w = rail.clientWidth;
    leaders.setAttribute("width", String(w + 12));
    leaders.setAttribute("height", String(rail.clientHeight));
    leaders.replaceChildren();
    for (const l of lines) {
      // From the tag's right edge (where its point is) to the text's edge
      // at the reader's true height.
      const r = l.el.offsetLeft + l.el.offsetWidth + (wide.matches ? 7 : 0);
      const line = document.createElementNS(svgNS, "polyline");
      line.setAttribute("points", wide.matches
        ? `${r},${l.from} ${w + 6},${l.to} ${w + 14},${l.to}`
        : `${r - 2},${l.from} ${w + 3},${l.to}`);
      line.style.setProperty("--c", l.el.style.getPropertyValue("--c"));
      leaders.append(line);
    }
  }

  function renderList(chip) {
    chip.list.replaceChildren(...chip.folded.map((it) => {
      const b = makeTag("ghost-list-item", "");
      const dot = document.createElement("span");
      dot.className = "ghost-list-dot";
      dot.style.background = it.el.style.getPropertyValue("--c");
      b.append(dot, document.createTextNode((it.self ? "You" : it.name) + " · " + percent(it.position)));
      b.addEventListener("click", () => jumpTo(it.position));
      return b;
    }));
  }

  // ---------- Names, percentages, jumping to a reader ----------

  function percent(p) {
    return Math.round(clamp01(p) * 100) + "% read";
  }

  let tipFor = null;

  function tipText(el) {
    if (el === self) return "You" + (youName ? " — " + youName : "") + (hidden ? " (hidden from others)" : "");
    const g = ghosts.get(el.dataset.id);
    return g ? g.name + " · " + percent(g.position) : "";
  }

  function showTip(el) {
    const text = tipText(el);
    if (!text) return;
    tipFor = el;
    tip.textContent = text;
    tip.hidden = false;
    placeTip(el);
  }

  function placeTip(el) {
    tip.textContent = tipText(el);
    tip.style.top = el.offsetTop + "px";
    tip.style.left = (el.offsetLeft + el.offsetWidth + (wide.matches ? 12 : 6)) + "px";
  }

  function hideTip() {
    tipFor = null;
    tip.hidden = true;
  }

  // Scroll so that the top of the viewport is where that reader is.
  function jumpTo(p) {
    const r = article.getBoundingClientRect();
    const top = r.top + scrollY + clamp01(p) * r.height;
    scrollTo({ top: Math.round(top), behavior: reduceMotion.matches ? "auto" : "smooth" });
  }

  let lastPointer = "mouse";
  let tippedBefore = null; // the ghost whose tip showed before this tap (focus comes first)
  rail.addEventListener("pointerdown", (ev) => {
    lastPointer = ev.pointerType || "mouse";
    tippedBefore = tipFor;
  });
  rail.addEventListener("pointerover", (ev) => {
    const el = ev.target.closest(".ghost");
    if (el && ev.pointerType === "mouse") showTip(el);
  });
  rail.addEventListener("pointerout", (ev) => {
    const el = ev.target.closest(".ghost");
    if (el && el === tipFor && ev.pointerType === "mouse" && !el.contains(ev.relatedTarget)) hideTip();
  });
  rail.addEventListener("focusin", (ev) => {
    const el = ev.target.closest(".ghost");
    if (el) showTip(el);
  });
  rail.addEventListener("focusout", (ev) => {
    if (ev.target === tipFor) hideTip();
  });
  rail.addEventListener("click", (ev) => {
    const el = ev.target.closest(".ghost");
    if (!el) return;
    // On a touch screen the first tap shows who it is, the second goes there.
    if (lastPointer !== "mouse" && tippedBefore !== el) {
      tippedBefore = el;
      showTip(el);
      return;
    }
    if (el === self) {
      showTip(el);
      return;
    }
    const g = ghosts.get(el.dataset.id);
    if (g) jumpTo(g.position);
  });
  document.addEventListener("pointerdown", (ev) => {
    if (!rail.contains(ev.target)) {
      for (const c of chips) c.root.classList.remove("open");
      if (tipFor) hideTip();
    }
  });

  // ---------- Crowd (a post with many readers) ----------

  // In a crowded post the server shows each reader only the readers nearest
  // to it (and the latest movers), and sends the post's reader count and a
  // density summary: 50 bands of 2 % each, drawn as a minimap at the right
  // edge of the screen, like a code editor's scrollbar markers, with a box
  // for the part of the article you are looking at.
  let crowdTotal = 0;
  const map = document.createElement("div");
  map.className = "crowd-map";
  map.setAttribute("aria-hidden", "true");
  map.hidden = true;
  map.title = "Where readers are in this post";
  const mapBars = document.createElement("div");
  mapBars.className = "crowd-map-bars";
  const mapView = document.createElement("div");
  mapView.className = "crowd-map-view";
  map.append(mapBars, mapView);
  document.body.append(map);
  map.addEventListener("click", (ev) => {
    const r = mapBars.getBoundingClientRect();
    jumpTo((ev.clientY - r.top) / r.height);
  });

  function setCrowd(total, bands) {
    crowdTotal = total > 0 ? total : 0;
    if (!Array.isArray(bands) || bands.length === 0) {
      map.hidden = true;
      return;
    }
    const counts = bands.map((n) => Math.max(0, Number(n) || 0));
    const peak = Math.max(1, ...counts);
    while (mapBars.children.length < counts.length) mapBars.append(document.createElement("i"));
    while (mapBars.children.length > counts.length) mapBars.lastChild.remove();
    counts.forEach((n, i) => {
      const bar = mapBars.children[i];
      bar.style.top = (i * 100 / counts.length).toFixed(3) + "%";
      bar.style.height = (100 / counts.length).toFixed(3) + "%";
      // Width by count (at least a sliver for one reader), so the busiest
      // part of the post stands out at a glance.
      bar.style.width = n > 0 ? (20 + 80 * n / peak).toFixed(1) + "%" : "0";
      bar.dataset.count = String(n);
    });
    map.hidden = false;
    syncMapView();
  }

  function syncMapView() {
    if (map.hidden) return;
    const r = article.getBoundingClientRect();
    if (!(r.height > 0)) return;
    const from = clamp01(-r.top / r.height);
    const to = clamp01((innerHeight - r.top) / r.height);
    mapView.style.top = (from * 100).toFixed(2) + "%";
    mapView.style.height = (Math.max(0.01, to - from) * 100).toFixed(2) + "%";
  }

  // ---------- Presence line: the count and the live channel's state ----------

  let pillText = null;
  let pillRetry = null;
  if (presence) {
    presence.replaceChildren();
    pillText = document.createElement("span");
    pillText.className = "presence-text";
    // The countdown changes every second: kept out of what is announced.
    pillRetry = document.createElement("span");
    pillRetry.className = "presence-retry";
    pillRetry.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.append(pillText, pillRetry);
    presence.append(label);
  }

  function setState(s) {
    state = s;
    clearInterval(countdown);
    countdown = 0;
    if (s === "reconnecting") countdown = setInterval(updatePresence, 250);
    updatePresence();
  }

  function updatePresence() {
    if (!presence) return;
    const wasHidden = presence.hidden;
    let text = "";
    let retry = "";
    switch (state) {
      case "live": {
        const n = crowdTotal > 0 ? crowdTotal : ghosts.size + 1;
        text = n === 1 ? "1 reading now — just you" : n + " reading now";
        if (hidden) text += " · you are hidden";
        break;
      }
      case "reconnecting": {
        text = "Reconnecting";
        const s = Math.ceil((retryAt - performance.now()) / 1000);
        retry = retryTimer && s > 0 ? " in " + s + " s…" : "…";
        break;
      }
      case "offline":
        text = "Offline — live readers will return when you are back online";
        break;
      default:
        text = "Connecting…";
    }
    if (pillText.textContent !== text) pillText.textContent = text;
    if (pillRetry.textContent !== retry) pillRetry.textContent = retry;
    presence.dataset.state = state;
    presence.hidden = false;
    if (hideButton) {
      hideButton.hidden = false;
      hideButton.setAttribute("aria-pressed", String(hidden));
      hideButton.textContent = hidden ? "Show me to others" : "Hide me";
    }
    // Showing the line moves the article, so the rail must follow.
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
        youName = typeof you.name === "string" ? validName(you.name) : "";
        // A welcome is the whole truth: rebuild from scratch (also on reconnect).
        clearGhosts();
        if (Array.isArray(msg.readers)) msg.readers.forEach(upsertGhost);
        setColor(self, you.color);
        self.hidden = false;
        self.classList.toggle("ghost-self-hidden", hidden);
        connected = true;
        retryDelay = RETRY_BASE_MS;
        setState("live");
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

  function socketURL() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/ws/posts/" + encodeURIComponent(slug) + (hidden ? "?hidden=1" : "");
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (leaving || ws) return;
    if (navigator.onLine === false) {
      setState("offline");
      return;
    }
    if (state === "reconnecting") updatePresence();
    let sock;
    try {
      sock = new WebSocket(socketURL());
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

  // Closes the socket without the reconnect its close would schedule.
  function dropSocket(reason) {
    const sock = ws;
    ws = null;
    if (sock) {
      sock.onclose = sock.onmessage = sock.onerror = null;
      try { sock.close(1000, reason); } catch { /* already closing */ }
    }
  }

  // Everything we show about others is stale once the socket is gone.
  function goOffline() {
    connected = false;
    cancelSend();
    lastSent = null;
    clearGhosts();
    self.hidden = true;
    scheduleLayout();
  }

  function scheduleReconnect(useMax, refused) {
    if (leaving || retryTimer) return;
    if (navigator.onLine === false) {
      setState("offline");
      return;
    }
    if (useMax) retryDelay = RETRY_MAX_MS;
    // 50–100% jitter so a restarted server is not hit by everyone at once.
    const delay = retryDelay * (0.5 + Math.random() * 0.5);
    retryDelay = Math.min(retryDelay * 2, refused ? RETRY_REFUSED_MAX_MS : RETRY_MAX_MS);
    retryAt = performance.now() + delay;
    retryTimer = setTimeout(connect, delay);
    setState("reconnecting");
  }

  // ---------- Hide me ----------

  // Reconnects at once with the new choice: the server shows (or stops
  // showing) this reader from the new connection's welcome on.
  function setHidden(h) {
    hidden = h;
    try {
      if (h) localStorage.setItem(HIDDEN_KEY, "1");
      else localStorage.removeItem(HIDDEN_KEY);
    } catch { /* storage blocked: the choice lasts for this page */ }
    dropSocket(h ? "hiding" : "showing");
    goOffline();
    retryDelay = RETRY_BASE_MS;
    setState("connecting");
    connect();
  }
  if (hideButton) hideButton.addEventListener("click", () => setHidden(!hidden));

  // ---------- Wiring ----------

  addEventListener("scroll", () => {
    scheduleSend();
    scheduleLayout(); // your own marker moves with you
    syncMapView();
  }, { passive: true });
  addEventListener("resize", () => {
    syncRail();
    syncMapView();
    scheduleSend();
  });
  wide.addEventListener("change", scheduleLayout);
  addEventListener("offline", () => {
    dropSocket("offline");
    goOffline();
    clearTimeout(retryTimer);
    retryTimer = 0;
    setState("offline");
  });
  addEventListener("online", () => {
    retryDelay = RETRY_BASE_MS;
    if (!ws) connect();
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
    dropSocket("page hidden");
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
        state,
        hidden,
        you: youId,
        name: youName,
        ghosts: Object.fromEntries([...ghosts].map(([id, g]) => [id, g.position])),
        names: Object.fromEntries([...ghosts].map(([id, g]) => [id, g.name])),
        total: crowdTotal,
        shown: lastLayout.shown,
        folded: lastLayout.folded,
        chips: lastLayout.chips,
      }),
      layout,
    }),
    enumerable: true,
  });

  setState("connecting");
  syncRail();
  connect();
})();
