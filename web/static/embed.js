// readtag embed — live "ghost" tags for everyone else reading this page, on
// any site, from one tag:
//
//   <script src="https://readtag.example.com/embed.js" async></script>
//
// Progressive enhancement only: without this script (or without a server
// connection) the page is an ordinary page. Everything it draws lives in
// shadow roots of its own elements, styled by constructed stylesheets, so the
// host's CSS cannot reach it, it cannot reach the host, and a strict CSP
// (no 'unsafe-inline') is enough. Settings are data- attributes of the script
// tag (docs/embed.md). Protocol: docs/protocol.md; handle() takes the server's
// frames, sendPosition() sends ours.
(() => {
  "use strict";

  // Loaded twice (two tags, a framework re-running it): the first copy
  // runs. "Ours" is the frozen, read-only hook below: window.readtag may
  // be the page's own, a global of that name or an element with
  // id="readtag" (named access), and that must not switch readtag off.
  const hook = Object.getOwnPropertyDescriptor(window, "readtag");
  if (hook && !hook.writable && !hook.configurable && Object.isFrozen(hook.value) &&
      typeof hook.value.state === "function") return;
  if (typeof WebSocket !== "function") return;

  // Captured now: an async script has no currentScript once it yields.
  const script = document.currentScript || document.querySelector("script[src*='/embed.js']");
  if (!script || !script.src) return;
  const opts = script.dataset;
  const scriptURL = new URL(script.src, location.href);
  const wsBase = (scriptURL.protocol === "https:" ? "wss://" : "ws://") + scriptURL.host;

  // The server closes clients above 50 frames/s; 50 ms keeps us at ≤ 20/s.
  const SEND_INTERVAL_MS = 50;
  // Reconnecting (docs/protocol.md, "Reconnecting"): a live channel that
  // closed (the server went away, 1001, or the line dropped) is tried again
  // at once plus up to FIRST_JITTER_MS, spread so that a restarted server
  // is not met by every page in one millisecond; then every SHORT_MS plus
  // up to as much again while the server is merely restarting, for
  // RESTART_WINDOW_MS. Past that window, and whenever the server refuses
  // (1008, 1013, 4xxx, or an accepted upgrade closed before its welcome),
  // attempts back off from RETRY_BASE_MS to RETRY_MAX_MS, or
  // RETRY_REFUSED_MAX_MS for refusals, so that a full node is not kept busy
  // by its own refusals.
  const FIRST_JITTER_MS = 1000;
  const SHORT_MS = 1000;
  const RESTART_WINDOW_MS = 30000;
  const RETRY_BASE_MS = 500;
  const RETRY_MAX_MS = 15000;
  const RETRY_REFUSED_MAX_MS = 60000;
  const COUNTS_RETRY_BASE_MS = 1000;
  const COUNTS_RETRY_MAX_MS = 30000;
  // The close code of a socket whose reader came back on a newer one: this
  // page gives its resume token up and joins afresh.
  const TAKEN_OVER = 4409;
  const RESUME_KEY = "readtag.resume:";
  const FALLBACK_COLOR = "#8a8f98";
  const HIDDEN_KEY = "readtag.hidden";
  // Rail geometry in px (not rem: the host may set any root font size).
  // A wide rail holds labelled tags; a narrow one dots; an edge rail is a
  // narrow one squeezed into whatever margin there is, never over the text.
  const WIDE = { w: 112, gap: 16, tag: 24 };
  const NARROW = { w: 20, gap: 5, tag: 14 };
  const EDGE_MIN = 8;
  // Every dot and chip is a tap target of at least HIT × HIT (WCAG 2.2,
  // 2.5.8), however small the mark drawn in it; a popup narrower than
  // POP_MIN would not read across, so it is written down the margin.
  const HIT = 24;
  const POP_MIN = 120;
  const ID_RE = /^[A-Za-z0-9._~:/-]{1,128}$/;

  const pageMode = (opts.page || "canonical").trim();
  const countsOnly = pageMode === "none";
  const byURL = pageMode === "canonical" || pageMode === "pathname";
  // An id that is not one joins no room (the server would refuse it anyway).
  const pageOK = countsOnly || byURL || ID_RE.test(pageMode);
  if (!pageOK) console.warn("readtag: data-page must be canonical, pathname, none or an id of 1 to 128 of [A-Za-z0-9._~:/-]:", pageMode);
  const sideWanted = ["left", "right"].includes(opts.side) ? opts.side : "auto";
  const theme = ["light", "dark"].includes(opts.theme) ? opts.theme : "auto";
  const counterAt = (opts.counter || "").trim();
  const showHideMe = !/^(false|no|off|0|none)$/i.test(opts.hideMe || "");
  const reduceMotion = matchMedia("(prefers-reduced-motion: reduce)");

  // ---------- Styles: one constructed sheet, adopted by every shadow root ----------

  let sheet = null;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT());
  } catch { sheet = null; /* an old browser: a <style> in each root instead */ }

  const svgNS = "http://www.w3.org/2000/svg";

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text) e.textContent = text;
    return e;
  }

  // A host element of our own whose box the host's CSS cannot move or show
  // through: every property reset inline with !important (inline important
  // beats any selector of the page), set through CSSOM so no CSP objects.
  function makeHost(tag, styles) {
    // A page that defined an element of this name itself would run its
    // own constructor (and may take the shadow root): ours is then named
    // apart.
    if (window.customElements && typeof customElements.get === "function" && customElements.get(tag)) {
      tag += "-" + Math.random().toString(36).slice(2, 8);
    }
    const host = document.createElement(tag);
    const s = host.style;
    s.setProperty("all", "initial", "important");
    for (const [k, v] of Object.entries(styles)) s.setProperty(k, v, "important");
    const root = host.attachShadow({ mode: "open" });
    if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
    else root.append(el("style", "", CSS_TEXT()));
    const wrap = el("div", "rt " + theme);
    root.append(wrap);
    return { host, root, wrap };
  }

  function setPx(e, prop, v) {
    e.style.setProperty(prop, v.toFixed(2) + "px");
  }

  // ---------- State ----------

  let article = null;
  let pageURL = "";         // the page's URL as sent (no query, no fragment)
  let pageID = "";          // an explicit id (data-page="<id>")
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
  let downSince = 0;        // when a live channel was lost (performance.now()), 0 when none was
  let leaving = false;      // set on pagehide: never reconnect while unloading

  let hidden = false;       // "hide me": not shown to other readers
  try { hidden = localStorage.getItem(HIDDEN_KEY) === "1"; } catch { /* storage blocked */ }

  // ---------- Rail: its own absolutely positioned host, over the article ----------

  // One below the highest z-index: however high the page stacks its own
  // boxes it cannot bury the rail, but what it puts at the very top (a
  // dialog, a cookie banner) still covers it.
  const railHost = makeHost("readtag-rail", {
    display: "block", position: "absolute", top: "0px", left: "0px", width: "0px", height: "0px",
    margin: "0px", padding: "0px", border: "0px", overflow: "visible", "pointer-events": "none",
    "z-index": "2147483646", visibility: "visible", opacity: "1",
  });
  const box = railHost.wrap; // at the text column's top left

  // The rail and everything in it are hidden from screen readers: the count
  // in the presence line is what they announce.
  const rail = el("div", "rail");
  rail.id = "ghost-rail";
  rail.setAttribute("aria-hidden", "true");
  const leaders = document.createElementNS(svgNS, "svg");
  leaders.setAttribute("class", "ghost-leaders");
  const self = makeTag("ghost ghost-self", "you");
  self.hidden = true;
  // "+N" chips, one per full stack (see layout), made as needed.
  const chips = [];
  // One shared tooltip: name and how far that reader has read.
  const tip = el("div", "ghost-tip");
  tip.hidden = true;
  rail.append(leaders, self, tip);

  let geo = NARROW;         // the rail's current geometry
  let side = "left";
  let railOn = false;       // false when the margin has no room even for an edge rail
  let hostTop = 0;
  let hostLeft = 0;
  let articleHeight = 0;
  let textL = 0;            // the text column's edges, in viewport px
  let textR = 0;
  let hitX = 0;             // how far a dot's hit box reaches past its mark towards the text

  // The text's column: where most of the article's blocks start and end
  // (the median, so that a full-bleed image does not count), inside its
  // content box. Themes often make the article a full-width grid or wrapper
  // whose text is a narrow column in the middle of it.
  function textEdges(a) {
    const cs = getComputedStyle(article);
    let left = a.left + (parseFloat(cs.borderLeftWidth) || 0) + (parseFloat(cs.paddingLeft) || 0);
    let right = a.right - (parseFloat(cs.borderRightWidth) || 0) - (parseFloat(cs.paddingRight) || 0);
    let e = article;
    for (let i = 0; i < 3 && e.children.length === 1; i++) e = e.children[0];
    const ls = [];
    const rs = [];
    for (const c of e.children) {
      if (ls.length >= 200) break;
      const b = c.getBoundingClientRect();
      if (b.width > 0 && b.height > 0) {
        ls.push(b.left);
        rs.push(b.right);
      }
    }
    if (ls.length) {
      const mid = (v) => v.sort((x, y) => x - y)[v.length >> 1];
      left = Math.max(left, mid(ls));
      right = Math.max(left, Math.min(right, mid(rs)));
    }
    return { left, right };
  }

  // Whether the page has something of its own (a sidebar, a table of
  // contents) in the margin strip from x0 to x1: hit-tested at a few heights
  // of the article's visible part. Only the article's ancestors (its
  // backgrounds) and readtag's own elements may be there.
  const busy = { left: false, right: false };
  function occupied(s, x0, x1, a) {
    const top = Math.max(a.top, 0);
    const bottom = Math.min(a.bottom, innerHeight);
    if (bottom - top < 20 || x1 - x0 < 1) return busy[s]; // off screen: as last seen
    busy[s] = false;
    for (const x of [x0 + 2, (x0 + x1) / 2, x1 - 2]) {
      for (const f of [0.25, 0.5, 0.75]) {
        const hit = document.elementFromPoint(x, top + f * (bottom - top));
        if (hit && hit !== railHost.host && !hit.contains(article)) busy[s] = true;
      }
    }
    return busy[s];
  }

  // Where the text is, which side has room and how much: measured, never
  // assumed, since headers, images and web fonts all move the article.
  function syncRail() {
    if (!article) return;
    if (!article.isConnected) {
      findArticle();
      if (!article) return;
    }
    const a = article.getBoundingClientRect();
    const { left, right } = textEdges(a);
    const vw = document.documentElement.clientWidth;
    const roomL = left;
    const roomR = vw - right;
    // A side fits g if its margin is wide enough and holds nothing else.
    const fits = (side, g) => {
      const need = g.w + g.gap;
      if ((side === "left" ? roomL : roomR) < need) return false;
      return side === "left" ? !occupied("left", left - need, left - g.gap, a) : !occupied("right", right + g.gap, right + need, a);
    };
    const sides = sideWanted === "auto" ? ["left", "right"] : [sideWanted];
    let s = "";
    for (const g of [WIDE, NARROW]) {
      s = sides.find((x) => fits(x, g)) || "";
      geo = g;
      if (s) break;
    }
    if (!s) {
      // Edge rail: dots in the margin there is, a px clear of the text.
      s = sideWanted === "right" || (sideWanted === "auto" && roomR > roomL) ? "right" : "left";
      const room = Math.floor(s === "left" ? roomL : roomR);
      const w = Math.min(NARROW.tag, room - 3);
      geo = { w, gap: Math.max(1, room - w - 1), tag: w };
    }
    side = s;
    railOn = geo.w >= EDGE_MIN;
    textL = left;
    textR = right;
    // A dot's hit box reaches from the mark towards the text, centred on
    // it where the gap allows, never past the text's edge nor off screen.
    // A margin narrower than HIT has no room for one: the marks are then
    // not tap targets (the keyboard control still reaches them).
    const outer = (side === "left" ? left : vw - right) - geo.gap;
    const hx = geo === WIDE ? 0 : Math.min(geo.gap, Math.max((HIT - geo.tag) / 2, HIT - outer));
    hitX = hx;
    rail.style.setProperty("--hx", hx.toFixed(2) + "px");
    rail.classList.toggle("no-taps", geo !== WIDE && HIT - outer > geo.gap);
    box.classList.toggle("wide", geo === WIDE);
    box.classList.toggle("right", side === "right");
    rail.hidden = !railOn;

    // The host's containing block may be the body, a transformed ancestor or
    // the viewport; measure where it puts us, then move by the difference.
    const h = railHost.host.getBoundingClientRect();
    hostTop += a.top - h.top;
    hostLeft += left - h.left;
    railHost.host.style.setProperty("top", hostTop.toFixed(2) + "px", "important");
    railHost.host.style.setProperty("left", hostLeft.toFixed(2) + "px", "important");
    articleHeight = a.height;
    rail.style.setProperty("--w", geo.w + "px");
    rail.style.setProperty("--tag", geo.tag + "px");
    setPx(rail, "width", geo.w);
    setPx(rail, "height", a.height);
    setPx(rail, "left", side === "left" ? -geo.gap - geo.w : right - left + geo.gap);
    placeCounter(left, right);
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
    const b = el("button", className, text);
    b.type = "button";
    b.tabIndex = -1;
    return b;
  }

  function setColor(e, color) {
    const c = validColor(color);
    e.style.setProperty("--c", c);
    e.classList.toggle("ghost-ink-light", wantsLightInk(c));
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
      const e = makeTag("ghost ghost-enter", name);
      e.dataset.id = reader.id;
      e.dataset.name = name;
      e.addEventListener("animationend", () => e.classList.remove("ghost-enter"), { once: true });
      g = { el: e, position: null, name };
      ghosts.set(reader.id, g);
      setPosition(g, reader.position);
      setColor(e, reader.color);
      rail.insertBefore(e, tip);
      return;
    }
    const name = validName(reader.name);
    if (g.name !== name) {
      g.name = name;
      g.el.textContent = name;
      g.el.dataset.name = name;
    }
    setColor(g.el, reader.color);
    setPosition(g, reader.position);
  }

  // A welcome is the whole truth, also on a reconnect: the ghosts kept
  // (faded) while the channel was down are matched with it by id, so that a
  // reader who came back under the same id moves on instead of leaving and
  // joining again; those it does not list leave, new ones join.
  function reconcile(readers) {
    const listed = new Set();
    if (Array.isArray(readers)) {
      for (const r of readers) {
        if (r && typeof r.id === "string") listed.add(r.id);
      }
    }
    for (const id of [...ghosts.keys()]) {
      if (!listed.has(id) || id === youId) removeGhost(id);
    }
    if (Array.isArray(readers)) readers.forEach(upsertGhost);
  }

  // While the channel is down the ghosts stay where they were, faded, and
  // the rail says so; a welcome brings them back to life.
  function setStale(on) {
    rail.classList.toggle("stale", on);
    map.classList.toggle("stale", on);
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
    if (!article) return;
    const height = articleHeight;
    const wide = geo === WIDE;
    const gap = 3;
    const maxSlots = wide ? 6 : 5;

    const items = [];
    for (const [id, g] of ghosts) items.push({ id, el: g.el, position: g.position, name: g.name });
    if (!self.hidden) items.push({ id: youId, el: self, position: currentPosition(), self: true });
    items.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
    for (const it of items) it.el.hidden = false;

    // Every box has the same height (one line of text, or a dot).
    const slot = items.length ? items[0].el.offsetHeight : 0;
    const step = slot + gap;

    // A tag is centred on its reader's reading line (its point at the
    // line), and kept inside the article's box at both ends.
    const stacks = [];
    let cur = null;
    for (const it of items) {
      it.y = Math.max(0, Math.min(it.position * height - slot / 2, height - slot));
      if (cur && it.y < cur.top + Math.min(cur.items.length, maxSlots) * step) {
        cur.items.push(it);
      } else {
        cur = { top: it.y, items: [it] };
        stacks.push(cur);
      }
    }
    // A stack that would run past the article's last line (readers at the
    // end) is moved up to end there, and so is each stack above that it
    // would then cover: no tag below the article, in the page's footer.
    let limit = height;
    for (let i = stacks.length - 1; i >= 0; i--) {
      const st = stacks[i];
      const size = Math.min(st.items.length, maxSlots) * step - gap;
      if (st.top + size > limit) st.top = Math.max(0, limit - size);
      limit = st.top - gap;
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
        setPx(it.el, "top", top);
        shown++;
        if (Math.abs(top - it.y) > 1) lines.push({ from: top + slot / 2, to: it.y + slot / 2, el: it.el });
      });
      for (const it of rest) it.el.hidden = true;
      if (rest.length) {
        const chip = chips[nchips] || newChip();
        nchips++;
        chip.root.hidden = false;
        setPx(chip.root, "top", st.top + visible.length * step);
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
    syncKeys(shown);
    if (tipFor && !tipFor.hidden) placeTip(tipFor);
    else if (tipFor) hideTip();
  }

  function newChip() {
    const root = el("div", "ghost-more");
    const button = makeTag("ghost-more-count", "");
    const list = el("div", "ghost-list");
    root.append(button, list);
    const chip = { root, button, list, folded: [] };
    // Hover or focus opens the list (CSS); a tap or click toggles it.
    root.addEventListener("pointerenter", () => renderList(chip));
    root.addEventListener("focusin", () => renderList(chip));
    button.addEventListener("click", () => {
      root.classList.toggle("open");
      renderList(chip);
    });
    rail.insertBefore(root, tip);
    chips.push(chip);
    return chip;
  }

  // Thin lines from a tag moved aside to the text's edge at its reader's
  // true height; mirrored when the rail is right of the text.
  function drawLeaders(lines) {
    const w = geo.w;
    const g = geo.gap;
    const wide = geo === WIDE;
    leaders.setAttribute("width", String(w));
    leaders.setAttribute("height", String(Math.max(1, Math.round(articleHeight))));
    leaders.replaceChildren();
    for (const l of lines) {
      const line = document.createElementNS(svgNS, "polyline");
      let pts;
      if (side === "left") {
        const r = l.el.offsetLeft + l.el.offsetWidth + (wide ? 7 : -hitX);
        pts = wide ? `${r},${l.from} ${w + g - 10},${l.to} ${w + g - 2},${l.to}` : `${r - 2},${l.from} ${w + g - 2},${l.to}`;
      } else {
        const x = l.el.offsetLeft - (wide ? 7 : -hitX);
        pts = wide ? `${x},${l.from} ${10 - g},${l.to} ${2 - g},${l.to}` : `${x + 2},${l.from} ${2 - g},${l.to}`;
      }
      line.setAttribute("points", pts);
      line.style.setProperty("--c", l.el.style.getPropertyValue("--c"));
      leaders.append(line);
    }
  }

  function renderList(chip) {
    // The keyboard's ring stays on the same row when the list is redrawn.
    const k = activeChip === chip ? [...chip.list.children].indexOf(active) : -1;
    chip.list.replaceChildren(...chip.folded.map((it) => {
      const b = makeTag("ghost-list-item", "");
      const dot = el("span", "ghost-list-dot");
      dot.style.setProperty("background", it.el.style.getPropertyValue("--c"));
      b.append(dot, document.createTextNode((it.self ? "You" : it.name) + " · " + percent(it.position)));
      b.addEventListener("click", () => jumpTo(it.position));
      return b;
    }));
    if (k >= 0 && chip.list.children.length) setActive(chip.list.children[Math.min(k, chip.list.children.length - 1)]);
    if (chip.list.offsetWidth) placePop(chip.list, chip.button.getBoundingClientRect(), side);
  }

  // ---------- Names, percentages, jumping to a reader ----------

  function percent(p) {
    return Math.round(clamp01(p) * 100) + "% read";
  }

  let tipFor = null;

  function tipText(e) {
    if (e === self) return "You" + (youName ? " — " + youName : "") + (hidden ? " (hidden from others)" : "");
    const g = ghosts.get(e.dataset.id);
    return g ? g.name + " · " + percent(g.position) : "";
  }

  function showTip(e) {
    const text = tipText(e);
    if (!text) return;
    tipFor = e;
    tip.textContent = text;
    tip.hidden = false;
    placeTip(e);
  }

  function placeTip(e) {
    tip.textContent = tipText(e);
    placePop(tip, e.getBoundingClientRect(), side);
  }

  // Opens a popup (tip, "+N" list, minimap label) next to the anchor rect
  // a (viewport px) in the margin on side s, never over the text: beside
  // the anchor on the side away from the text (towards it if inward) when
  // it fits there; else above (or below) it, as wide as the margin,
  // wrapping; else, in a margin too narrow to read across, written down
  // the margin below the anchor. Its position is set relative to its
  // containing block.
  function placePop(pop, a, s, inward) {
    const vw = document.documentElement.clientWidth;
    const x0 = s === "left" ? 2 : textR + 2;
    const x1 = s === "left" ? textL - 2 : vw - 2;
    const gap = 6;
    pop.classList.remove("pop-wrap", "pop-vertical", "pop-sheet");
    pop.style.removeProperty("--pop-max");
    setPx(pop, "left", 0);
    setPx(pop, "top", 0);
    let w = pop.offsetWidth;
    let h = pop.offsetHeight;
    let x = (s === "left") !== !!inward ? a.left - gap - w : a.right + gap;
    let y = a.top + (a.height - h) / 2;
    if (x < x0 || x + w > x1) {
      if (x1 - x0 >= POP_MIN) {
        pop.classList.add("pop-wrap");
        setPx(pop, "--pop-max", x1 - x0);
      } else {
        pop.classList.add("pop-vertical");
      }
      w = pop.offsetWidth;
      h = pop.offsetHeight;
      x = Math.max(x0, Math.min(x1 - w, a.left + (a.width - w) / 2));
      y = pop.classList.contains("pop-vertical") || a.top - gap - h < 0 ? a.bottom + gap : a.top - gap - h;
      if (w > x1 - x0 + 1) {
        // Not even that fits (a page with a few px of margin): a line at
        // the bottom of the window, the one place it may cover text, and
        // only when asked for (a tap, a key; hover needs a mouse and room).
        pop.classList.replace("pop-vertical", "pop-sheet");
        setPx(pop, "--pop-max", vw - 16);
        w = pop.offsetWidth;
        h = pop.offsetHeight;
        x = (vw - w) / 2;
        y = innerHeight - h - 8;
      }
    }
    y = Math.max(2, Math.min(innerHeight - h - 2, y));
    // Measured where it is now (at 0, 0 of its containing block), so that
    // a transformed or fixed ancestor is allowed for.
    const o = pop.getBoundingClientRect();
    setPx(pop, "left", x - o.left);
    setPx(pop, "top", y - o.top);
  }

  function hideTip() {
    tipFor = null;
    tip.hidden = true;
  }

  // Scroll so that your reading line is where that reader is: the scroll
  // offset s with s + lineAt(s) at that place, found by bisection (it grows
  // with s).
  function jumpTo(p) {
    if (!article) return;
    const r = article.getBoundingClientRect();
    const v = viewport();
    const want = r.top - v.top + v.s + clamp01(p) * r.height;
    let lo = 0;
    let hi = Math.max(0, v.max);
    for (let i = 0; i < 40 && hi - lo > 0.5; i++) {
      const mid = (lo + hi) / 2;
      if (mid + lineAt(v, mid) < want) lo = mid;
      else hi = mid;
    }
    (v.box || window).scrollTo({ top: Math.round(hi), behavior: reduceMotion.matches ? "auto" : "smooth" });
  }

  let lastPointer = "mouse";
  let tippedBefore = null; // the ghost whose tip showed before this tap (focus comes first)
  const ghostOf = (t) => t && t.closest ? t.closest(".ghost") : null;
  rail.addEventListener("pointerdown", (ev) => {
    lastPointer = ev.pointerType || "mouse";
    tippedBefore = tipFor;
  });
  rail.addEventListener("pointerover", (ev) => {
    const e = ghostOf(ev.target);
    if (e && ev.pointerType === "mouse") showTip(e);
  });
  rail.addEventListener("pointerout", (ev) => {
    const e = ghostOf(ev.target);
    if (e && e === tipFor && ev.pointerType === "mouse" && !e.contains(ev.relatedTarget)) hideTip();
  });
  rail.addEventListener("focusin", (ev) => {
    const e = ghostOf(ev.target);
    if (e) showTip(e);
  });
  rail.addEventListener("focusout", (ev) => {
    if (ev.target === tipFor) hideTip();
  });
  rail.addEventListener("click", (ev) => {
    const e = ghostOf(ev.target);
    if (!e) return;
    // On a touch screen the first tap shows who it is, the second goes there.
    if (lastPointer !== "mouse" && tippedBefore !== e) {
      tippedBefore = e;
      showTip(e);
      return;
    }
    if (e === self) {
      showTip(e);
      return;
    }
    const g = ghosts.get(e.dataset.id);
    if (g) jumpTo(g.position);
  });
  // Events from inside a shadow root reach the document retargeted to its
  // host, so a press anywhere else on the page closes the list and the tip.
  document.addEventListener("pointerdown", (ev) => {
    if (ev.target !== railHost.host) {
      mapLabel.hidden = true;
      for (const c of chips) c.root.classList.remove("open");
      bar.classList.remove("open");
      if (tipFor) hideTip();
    }
  });

  // ---------- Keyboard: one control for the whole rail ----------

  // The rail stays hidden from screen readers (the count in the pill is
  // what they hear, once); a keyboard reaches the ghosts through this one
  // button beside it, in the tab order. Focus stays on it (the ghosts are
  // never focused, so nothing focusable sits inside aria-hidden): arrow
  // keys move a focus ring through the tags and chips top to bottom, Enter
  // or Space shows the name as hovering does (again: goes there), opens a
  // chip's list (arrows then move through it), Escape closes. Its label
  // names the tag it is on, so a screen reader hears only what was asked.
  const keys = el("button", "rail-keys");
  keys.type = "button";
  keys.hidden = true;
  const KEYS_LABEL = "Other readers' places: arrow keys go through them, Enter shows who";
  keys.setAttribute("aria-label", KEYS_LABEL);
  let active = null;     // the tag, chip button or list item the ring is on
  let activeChip = null; // the chip whose list the arrows are in

  function keyTargets() {
    if (activeChip) return [...activeChip.list.children];
    const t = [...rail.querySelectorAll(".ghost:not([hidden]), .ghost-more:not([hidden]) > .ghost-more-count")];
    const top = (e) => e.classList.contains("ghost") ? e.offsetTop : e.parentElement.offsetTop;
    return t.sort((a, b) => top(a) - top(b));
  }

  function setActive(e) {
    if (active) active.classList.remove("ghost-active");
    active = e;
    if (tipFor && tipFor !== e) hideTip();
    if (!e) {
      keys.setAttribute("aria-label", KEYS_LABEL);
      return;
    }
    e.classList.add("ghost-active");
    // The ring must be seen: a tag above or below the window comes into it.
    const r = e.getBoundingClientRect();
    if (r.bottom < 0 || r.top > innerHeight) e.scrollIntoView({ block: "center", behavior: reduceMotion.matches ? "auto" : "smooth" });
    const t = keyTargets();
    const what = e.classList.contains("ghost") ? tipText(e) : e.classList.contains("ghost-more-count")
      ? e.textContent + " more readers here" : e.textContent;
    keys.setAttribute("aria-label", what + ", " + (t.indexOf(e) + 1) + " of " + t.length);
  }

  function closeChip() {
    if (!activeChip) return;
    const c = activeChip;
    activeChip = null;
    c.root.classList.remove("open");
    setActive(c.button);
  }

  keys.addEventListener("focus", () => {
    // The first tag in the window, else the one nearest to it.
    const t = keyTargets();
    const off = (e) => {
      const r = e.getBoundingClientRect();
      return r.bottom < 0 ? -r.bottom : r.top > innerHeight ? r.top - innerHeight : 0;
    };
    setActive(t.reduce((a, e) => (a && off(a) <= off(e) ? a : e), null));
  });
  keys.addEventListener("blur", () => {
    closeChip();
    setActive(null);
    hideTip();
  });
  keys.addEventListener("keydown", (ev) => {
    const t = keyTargets();
    const i = t.indexOf(active);
    let next = null;
    switch (ev.key) {
      case "ArrowDown": case "ArrowRight": next = t[Math.min(t.length - 1, i + 1)]; break;
      case "ArrowUp": case "ArrowLeft": next = t[Math.max(0, i - 1)]; break;
      case "Home": next = t[0]; break;
      case "End": next = t[t.length - 1]; break;
      case "Enter": case " ": {
        if (!active) break;
        if (active.classList.contains("ghost-more-count")) {
          const c = chips.find((x) => x.button === active);
          c.root.classList.add("open");
          renderList(c);
          activeChip = c;
          setActive(c.list.firstElementChild);
        } else if (active.classList.contains("ghost-list-item")) {
          active.click();
        } else if (tipFor === active && active !== self) {
          const g = ghosts.get(active.dataset.id);
          if (g) jumpTo(g.position);
        } else {
          showTip(active);
        }
        break;
      }
      case "Escape":
        if (activeChip) closeChip();
        else if (tipFor) hideTip();
        else return;
        break;
      default:
        return;
    }
    ev.preventDefault();
    if (next) setActive(next);
  });

  // Called after every layout: the control is there while there are tags,
  // and the ring follows its tag (or comes off one that went away).
  function syncKeys(shown) {
    keys.hidden = !railOn || shown === 0;
    if (active && (!active.isConnected || active.hidden || (active.closest(".ghost-more") || active).hidden)) {
      activeChip = null;
      setActive(null);
    }
  }

  // ---------- Crowd (a page with many readers) ----------

  // In a crowded page the server shows each reader only the readers nearest
  // to it (and the latest movers), and sends the page's reader count and a
  // density summary: 50 bands of 2 % each, drawn as a minimap at the right
  // edge of the screen, like a code editor's scrollbar markers, with a box
  // for the part of the article you are looking at.
  let crowdTotal = 0;
  let crowdBands = [];
  // A button for the keyboard and screen readers too: Enter (or Space)
  // jumps to where most readers are, the arrows to the next part of the
  // page with readers below or above the one you are reading.
  const map = el("div", "crowd-map");
  map.tabIndex = 0;
  map.setAttribute("role", "button");
  map.hidden = true;
  // Its label is readtag's own popup, not a title (the browser would draw
  // that over the text): placed in the margin by placePop.
  const mapLabel = el("div", "crowd-map-label");
  mapLabel.setAttribute("aria-hidden", "true");
  mapLabel.hidden = true;
  const mapBars = el("div", "crowd-map-bars");
  const mapView = el("div", "crowd-map-view");
  map.append(mapBars, mapView);
  map.addEventListener("click", (ev) => {
    const r = mapBars.getBoundingClientRect();
    jumpTo((ev.clientY - r.top) / r.height);
  });
  map.addEventListener("keydown", (ev) => {
    const p = mapTarget(ev.key);
    if (p === null) return;
    ev.preventDefault();
    jumpTo(p);
  });
  map.addEventListener("pointerenter", showMapLabel);
  map.addEventListener("pointerleave", (ev) => {
    if (ev.pointerType === "mouse") mapLabel.hidden = true;
  });

  function showMapLabel() {
    mapLabel.textContent = "Where readers are in this page" + (crowdTotal > 0 ? " · " + crowdTotal + " reading" : "");
    mapLabel.hidden = false;
    placePop(mapLabel, map.getBoundingClientRect(), "right", true);
  }

  // mapTarget is where a key pressed on the minimap jumps to (the middle
  // of a band), or null for a key it does not take.
  function mapTarget(key) {
    const n = crowdBands.length;
    if (n === 0) return null;
    const mid = (i) => (i + 0.5) / n;
    if (key === "Enter" || key === " ") {
      const top = crowdBands.indexOf(Math.max(...crowdBands));
      return mid(top);
    }
    // The next band with readers at least a band away, so that every
    // press moves the page by a visible step.
    const here = clamp01(currentPosition());
    if (key === "ArrowDown") {
      for (let i = 0; i < n; i++) if (crowdBands[i] > 0 && mid(i) >= here + 1 / n) return mid(i);
      return null;
    }
    if (key === "ArrowUp") {
      for (let i = n - 1; i >= 0; i--) if (crowdBands[i] > 0 && mid(i) <= here - 1 / n) return mid(i);
      return null;
    }
    return null;
  }

  function setCrowd(total, bands) {
    crowdTotal = total > 0 ? total : 0;
    if (!Array.isArray(bands) || bands.length === 0) {
      crowdBands = [];
      map.hidden = true;
      mapLabel.hidden = true;
      return;
    }
    const counts = bands.map((n) => Math.max(0, Number(n) || 0));
    crowdBands = counts;
    const peak = Math.max(1, ...counts);
    const top = counts.indexOf(Math.max(...counts));
    map.setAttribute("aria-label", "Where readers are in this page: most around " +
      Math.round((top + 0.5) * 100 / counts.length) + " %" + (crowdTotal > 0 ? ", " + crowdTotal + " reading" : "") +
      ". Enter jumps there; the arrow keys to the next part with readers below or above.");
    while (mapBars.children.length < counts.length) mapBars.append(el("i"));
    while (mapBars.children.length > counts.length) mapBars.lastChild.remove();
    counts.forEach((n, i) => {
      const bar = mapBars.children[i];
      bar.style.setProperty("top", (i * 100 / counts.length).toFixed(3) + "%");
      bar.style.setProperty("height", (100 / counts.length).toFixed(3) + "%");
      // Width by count (at least a sliver for one reader), so the busiest
      // part of the page stands out at a glance.
      bar.style.setProperty("width", n > 0 ? (20 + 80 * n / peak).toFixed(1) + "%" : "0");
      bar.dataset.count = String(n);
    });
    map.hidden = false;
    syncMapView();
  }

  function syncMapView() {
    if (map.hidden || !article) return;
    const r = article.getBoundingClientRect();
    if (!(r.height > 0)) return;
    const from = clamp01(-r.top / r.height);
    const to = clamp01((innerHeight - r.top) / r.height);
    mapView.style.setProperty("top", (from * 100).toFixed(2) + "%");
    mapView.style.setProperty("height", (Math.max(0.01, to - from) * 100).toFixed(2) + "%");
  }

  // ---------- Presence pill: the count, the live channel's state, hide me ----------

  // In the element data-counter names (its own shadow root, appended at its
  // end), or by default a compact pill ("● 3") fixed at the bottom of the
  // window under the rail, which opens into the full pill and Hide me on
  // hover, focus or a tap; data-counter="none" shows none.
  let counter = null;
  const pill = el("div", "presence");
  pill.id = "presence";
  pill.setAttribute("aria-live", "polite");
  pill.hidden = true;
  const pillText = el("span", "presence-text");
  // The countdown changes every second: kept out of what is announced.
  const pillRetry = el("span", "presence-retry");
  pillRetry.setAttribute("aria-hidden", "true");
  // The compact pill's number; the full text stays there for screen readers.
  const pillN = el("span", "presence-n");
  pillN.setAttribute("aria-hidden", "true");
  const label = el("span");
  label.append(pillText, pillRetry);
  pill.append(pillN, label);
  const hideButton = el("button", "hide-me", "Hide me");
  hideButton.id = "hide-me";
  hideButton.type = "button";
  hideButton.hidden = true;
  hideButton.setAttribute("aria-pressed", "false");
  const bar = el("div", "presence-bar");
  bar.append(pill);
  if (showHideMe) bar.append(hideButton);
  // With the pill in the page (data-counter), a reader far down the
  // article would not see that the channel is down: this floats at the
  // bottom of the window while it is. The pill is what screen readers hear.
  const outage = el("div", "outage");
  outage.setAttribute("aria-hidden", "true");
  outage.hidden = true;

  function mountCounter() {
    if (counterAt === "none" || countsOnly) return;
    let target = null;
    if (counterAt) {
      try { target = document.querySelector(counterAt); } catch { /* not a selector */ }
      if (!target) console.warn("readtag: data-counter matches nothing:", counterAt);
    }
    if (target) {
      counter = makeHost("readtag-counter", { display: "block", "max-width": "100%" });
      counter.wrap.append(bar);
      target.append(counter.host);
      box.append(outage);
    } else {
      bar.classList.add("floating");
      bar.tabIndex = 0; // focus opens it too, and reaches Hide me
      bar.addEventListener("click", (ev) => {
        if (!hideButton.contains(ev.target)) bar.classList.toggle("open");
      });
      box.append(bar);
    }
  }

  // The compact pill lines up with the rail's outer edge, so that closed it
  // covers no more of the page than the rail does.
  function placeCounter(left, right) {
    for (const b of [bar, outage]) {
      if (b === bar ? !bar.classList.contains("floating") : !outage.isConnected) continue;
      const outer = geo.gap + geo.w;
      const vw = document.documentElement.clientWidth;
      b.classList.toggle("right", side === "right");
      b.classList.toggle("narrow", geo !== WIDE);
      if (side === "left") {
        setPx(b, "left", Math.max(2, left - outer));
        b.style.removeProperty("right");
      } else {
        setPx(b, "right", Math.max(2, vw - right - outer));
        b.style.removeProperty("left");
      }
      // The sign wraps within the margin rather than cover the text (a
      // margin too narrow for a short word gets a short word's width).
      if (b === outage) setPx(b, "max-width", Math.max(96, (side === "left" ? left : vw - right) - 6));
    }
  }

  function setState(s) {
    state = s;
    clearInterval(countdown);
    countdown = 0;
    if (s === "reconnecting") countdown = setInterval(updatePresence, 250);
    updatePresence();
  }

  function updatePresence() {
    let text = "";
    let retry = "";
    let short = "…";
    switch (state) {
      case "live": {
        const n = crowdTotal > 0 ? crowdTotal : ghosts.size + 1;
        short = String(n);
        text = n === 1 ? "1 reading now — just you" : n + " reading now";
        if (hidden) text += " · you are hidden";
        break;
      }
      case "reconnecting": {
        text = "Reconnecting";
        const s = Math.ceil((retryAt - performance.now()) / 1000);
        retry = retryTimer && s > 0 ? " in " + s + "\u00a0s…" : "…";
        break;
      }
      case "offline":
        text = "Offline — live readers will return when you are back online";
        short = "–";
        break;
      default:
        text = "Connecting…";
    }
    if (pillText.textContent !== text) pillText.textContent = text;
    if (pillRetry.textContent !== retry) pillRetry.textContent = retry;
    if (pillN.textContent !== short) pillN.textContent = short;
    pill.dataset.state = state;
    pill.hidden = false;
    const down = state === "reconnecting" || state === "offline";
    const outageText = down ? text + retry : "";
    if (outage.textContent !== outageText) outage.textContent = outageText;
    outage.dataset.state = state;
    outage.hidden = !down;
    hideButton.hidden = false;
    hideButton.setAttribute("aria-pressed", String(hidden));
    hideButton.textContent = hidden ? "Show me to others" : "Hide me";
  }

  // ---------- Outgoing position ----------

  // A position is where the reader's eyes are (docs/protocol.md, "The
  // meaning of a position"): a reading line READ_AT of the way down the
  // window, which slides to the window's top edge over the first scroll of
  // the page and to its bottom edge over the last, so that a reader at the
  // top of the page reads 0 and one at its end the article's last line, 1.
  const READ_AT = 1 / 3;

  // The box the article scrolls in: its nearest ancestor that scrolls
  // vertically (an app shell), else null for the window.
  function scrollBox() {
    for (let e = article.parentElement; e && e !== document.body && e !== document.documentElement; e = e.parentElement) {
      if (e.scrollHeight > e.clientHeight + 1 && /^(auto|scroll|overlay)$/.test(getComputedStyle(e).overflowY)) return e;
    }
    return null;
  }

  // The scroller's visible part (top and height in viewport px), how far
  // it is scrolled and how far it can be.
  function viewport() {
    const b = scrollBox();
    if (b) {
      const r = b.getBoundingClientRect();
      return { box: b, top: r.top + b.clientTop, h: b.clientHeight, s: b.scrollTop, max: b.scrollHeight - b.clientHeight };
    }
    const se = document.scrollingElement || document.documentElement;
    return { box: null, top: 0, h: innerHeight, s: scrollY, max: se.scrollHeight - innerHeight };
  }

  // The reading line's distance below the scroller's top at scroll offset
  // s: the scroll moves it twice as fast as the page over the first
  // READ_AT·h px of scroll (from the top edge to its place) and the last
  // (1-READ_AT)·h (from there to the bottom edge); a page that scrolls less
  // than one screen moves it from edge to edge over the whole scroll.
  function lineAt(v, s) {
    if (v.max < 1) return 0;
    s = Math.min(Math.max(s, 0), v.max);
    let below = v.max - s;
    if (below < 1) below = 0; // fractional scroll offsets at the very end
    if (v.max < v.h) return below ? v.h * s / v.max : v.h;
    return Math.max(Math.min(s, READ_AT * v.h), v.h - below);
  }

  // The reading line in viewport px.
  function readingLine() {
    const v = viewport();
    return v.top + lineAt(v, v.s);
  }

  function currentPosition() {
    if (!article) return 0;
    const r = article.getBoundingClientRect();
    if (!(r.height > 0)) return 0;
    return Math.round(clamp01((readingLine() - r.top) / r.height) * 10000) / 10000;
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
        welcomed = true;
        keepResume(msg.resume);
        setCrowd(0, null);
        reconcile(msg.readers);
        setStale(false);
        downSince = 0;
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
      case "resume":
        keepResume(msg.resume);
        break;
      case "error":
        console.warn("readtag: server error:", msg.error);
        break;
      default:
        // Unknown types are ignored so the server can add new ones.
        break;
    }
  }

  // ---------- Which page this is ----------

  // The page's URL without query or fragment (they are never sent): the
  // canonical link's when it is on this origin (another origin's would be
  // refused), else the address bar's. The server normalises it further.
  function pageKey() {
    let u = new URL(location.href);
    if (pageMode === "canonical") {
      const link = document.querySelector("link[rel~='canonical' i][href]");
      if (link) {
        try {
          const c = new URL(link.href, location.href);
          if (c.origin === location.origin) u = c;
        } catch { /* a broken canonical link: the address bar's URL */ }
      }
    }
    return { url: u.origin + u.pathname, id: byURL ? "" : pageMode };
  }

  // The text readers read: data-article's selector, else the first of
  // article, [itemprop=articleBody], main, else the body.
  function findArticle() {
    let a = null;
    if (opts.article) {
      try { a = document.querySelector(opts.article); } catch { /* not a selector */ }
    }
    // In this order, not the document's: a <main> usually holds the <article>.
    article = a || document.querySelector("article") || document.querySelector("[itemprop=articleBody]") ||
      document.querySelector("main") || document.body;
    if (!articleSeen.has(article) && ro) {
      articleSeen.add(article);
      ro.observe(article);
    }
  }
  const articleSeen = new WeakSet();

  // ---------- Connection ----------

  // The resume token of the welcome (and of the resume frames that renew
  // it) is kept per tab and per page in sessionStorage: a reload or a
  // reconnect comes back as the same reader, another tab is another reader.
  // It goes back as a query parameter of the upgrade, which is when the
  // server decides who a reader is (a first frame would come after the
  // join). The server ignores one that does not check out.
  function resumeKey() { return RESUME_KEY + (pageID ? "#" + pageID : pageURL); }
  function keepResume(token) {
    if (typeof token !== "string" || !token || token.length > 512) return;
    try { sessionStorage.setItem(resumeKey(), token); } catch { /* storage blocked: this page only */ }
    resumeToken = token;
  }
  function dropResume() {
    resumeToken = "";
    try { sessionStorage.removeItem(resumeKey()); } catch { /* storage blocked */ }
  }
  function storedResume() {
    try { return sessionStorage.getItem(resumeKey()) || ""; } catch { return resumeToken; }
  }
  let resumeToken = "";   // the latest, for when storage is blocked
  let welcomed = false;   // the current socket has had its welcome

  function socketURL() {
    const token = storedResume();
    return wsBase + "/ws/embed?page=" + encodeURIComponent(pageURL) +
      (pageID ? "&id=" + encodeURIComponent(pageID) : "") + (hidden ? "&hidden=1" : "") +
      (token ? "&resume=" + encodeURIComponent(token) : "");
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (leaving || ws || !pageURL) return;
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
      scheduleReconnect(false, true);
      return;
    }
    ws = sock;
    welcomed = false;
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
      const wasLive = welcomed;
      welcomed = false;
      goOffline(true);
      if (ev.code === TAKEN_OVER) {
        // Another tab of this page came back as this reader: this one
        // becomes a new reader (never take turns with it).
        dropResume();
        reconnectSoon(true);
        return;
      }
      const tooMany = ev.code === 1008 && /too many/i.test(ev.reason || "");
      const refused = ev.code === 1008 || ev.code === 1013 || (ev.code >= 4000 && ev.code < 5000);
      // A live channel lost, or a server going away (1001) or failing
      // (1011) on us: it is restarting, not refusing.
      const restart = !refused && (wasLive || ev.code === 1001 || ev.code === 1011);
      if (restart && !downSince) downSince = performance.now();
      if (restart || (!opened && downSince && performance.now() - downSince < RESTART_WINDOW_MS)) {
        reconnectSoon(wasLive);
        return;
      }
      scheduleReconnect(tooMany, refused || !opened || !wasLive);
    };
  }

  // The quick path while the server is merely restarting: the first try at
  // once plus up to FIRST_JITTER_MS, then every SHORT_MS plus up to as much
  // again.
  function reconnectSoon(first) {
    if (leaving || retryTimer) return;
    if (navigator.onLine === false) {
      setState("offline");
      return;
    }
    if (!downSince) downSince = performance.now();
    const delay = first ? Math.random() * FIRST_JITTER_MS : SHORT_MS * (1 + Math.random());
    retryDelay = RETRY_BASE_MS;
    retryAt = performance.now() + delay;
    retryTimer = setTimeout(connect, delay);
    setState("reconnecting");
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

  // Everything we show about others is stale once the socket is gone: kept
  // faded (keep) until the next welcome reconciles it, or cleared when this
  // page leaves its room.
  function goOffline(keep) {
    connected = false;
    cancelSend();
    lastSent = null;
    if (keep) {
      setStale(true);
    } else {
      clearGhosts();
      setStale(false);
      self.hidden = true;
    }
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

  // Leaves the room at once and joins (or rejoins) this page's: the same
  // page's ghosts are kept (faded) until the new welcome, another page's go.
  function rejoin(reason, samePage) {
    dropSocket(reason);
    goOffline(samePage);
    clearTimeout(retryTimer);
    retryTimer = 0;
    retryDelay = RETRY_BASE_MS;
    setState("connecting");
    connect();
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
    rejoin(h ? "hiding" : "showing", true);
  }
  hideButton.addEventListener("click", () => setHidden(!hidden));

  // ---------- Live counts for list pages: data-readtag-count="/path" ----------

  // Keys are normalised as the server's counts are (internal/pagekey): a
  // path, or a URL's path, with unreserved characters decoded, other escapes
  // upper-cased, what a path may not hold escaped and trailing slashes
  // folded; "#id" or "/#id" for an explicit id.
  function countKey(v) {
    v = (v || "").trim();
    if (/^\/?#/.test(v)) return "/#" + v.replace(/^\/?#/, "");
    try {
      const p = new URL(v, location.href).pathname
        .replace(/%[0-9a-f]{2}/gi, (m) => {
          const c = String.fromCharCode(parseInt(m.slice(1), 16));
          return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
        })
        .replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
      return p.replace(/\/+$/, "") || "/";
    } catch { return ""; }
  }

  let countsWS = null;
  let countsRetry = COUNTS_RETRY_BASE_MS;
  let countsTimer = 0;
  let countsDown = 0;       // when a live counts channel was lost, 0 when none was
  let lastCounts = {};

  function showCounts(counts) {
    lastCounts = counts;
    for (const b of document.querySelectorAll("[data-readtag-count]")) {
      const c = counts[countKey(b.dataset.readtagCount)];
      const n = Number.isInteger(c) && c > 0 ? c : 0;
      const text = n > 0 ? n + " reading now" : "";
      if (b.textContent !== text) b.textContent = text;
      b.hidden = n <= 0;
    }
  }

  function connectCounts() {
    clearTimeout(countsTimer);
    countsTimer = 0;
    if (leaving || countsWS || !document.querySelector("[data-readtag-count]")) return;
    let sock;
    try { sock = new WebSocket(wsBase + "/ws/counts"); } catch { return; }
    countsWS = sock;
    let live = false;
    sock.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (f && f.type === "counts" && f.counts && typeof f.counts === "object") {
        live = true;
        countsDown = 0;
        countsRetry = COUNTS_RETRY_BASE_MS;
        showCounts(f.counts);
      }
    };
    // As the post's channel (connect): at once plus jitter after a live
    // channel closed, then quickly while the server restarts, then backing off.
    sock.onclose = (ev) => {
      if (countsWS !== sock) return;
      countsWS = null;
      // Stale counts would mislead: hide them until the channel is back.
      showCounts({});
      if (leaving) return;
      const refused = ev.code === 1008 || ev.code === 1013 || (ev.code >= 4000 && ev.code < 5000);
      if (!refused && (live || ev.code === 1001) && !countsDown) countsDown = performance.now();
      let delay;
      if (!refused && live) {
        delay = Math.random() * FIRST_JITTER_MS;
      } else if (!refused && countsDown && performance.now() - countsDown < RESTART_WINDOW_MS) {
        delay = SHORT_MS * (1 + Math.random());
      } else {
        delay = countsRetry * (0.5 + Math.random() * 0.5);
        countsRetry = Math.min(countsRetry * 2, COUNTS_RETRY_MAX_MS);
      }
      countsTimer = setTimeout(connectCounts, delay);
    };
  }

  // ---------- Single-page navigation ----------

  // pushState and replaceState fire no event, so they are wrapped (the
  // originals still run first); popstate covers back and forward. The new
  // page renders after the URL changes, so the article is looked for again
  // then and once more when the DOM settles.
  let navTimer = 0;
  function onNavigate() {
    clearTimeout(navTimer);
    navTimer = setTimeout(refresh, 50);
  }
  for (const m of ["pushState", "replaceState"]) {
    const orig = history[m];
    if (typeof orig !== "function") continue;
    history[m] = function (...args) {
      const r = orig.apply(this, args);
      onNavigate();
      return r;
    };
  }
  addEventListener("popstate", onNavigate);

  function refresh() {
    if (!countsOnly) {
      const was = article;
      findArticle();
      const k = pageKey();
      if (pageOK && (k.url !== pageURL || k.id !== pageID)) {
        pageURL = k.url;
        pageID = k.id;
        rejoin("navigated");
      }
      // A moved article is the observers' to follow; a new one is ours.
      if (article !== was) syncRail();
    }
    if (countsWS) showCounts(lastCounts);
    else if (!countsTimer) connectCounts();
  }

  // Frameworks render the new page (article, canonical link, count
  // elements) after the URL changed, or swap content without navigating:
  // looked at again whenever the page's DOM changed, at most every 100 ms.
  let moQueued = false;
  const mo = typeof MutationObserver === "function" ? new MutationObserver(() => {
    if (moQueued) return;
    moQueued = true;
    setTimeout(() => {
      moQueued = false;
      refresh();
    }, 100);
  }) : null;

  // ---------- Wiring ----------

  // Images, fonts and the pill reflow the article after load.
  const ro = typeof ResizeObserver === "function" ? new ResizeObserver(() => {
    syncRail();
    scheduleSend();
  }) : null;

  // Captured, to hear scrolling boxes too: one that holds the article moves
  // it on the page, and the rail must follow.
  addEventListener("scroll", (ev) => {
    if (ev.target !== document && ev.target.contains && article && ev.target.contains(article)) syncRail();
    scheduleSend();
    scheduleLayout(); // your own marker moves with you
    syncMapView();
  }, { passive: true, capture: true });
  addEventListener("resize", () => {
    syncRail();
    syncMapView();
    scheduleSend();
  });
  addEventListener("offline", () => {
    dropSocket("offline");
    goOffline(true);
    clearTimeout(retryTimer);
    retryTimer = 0;
    setState("offline");
  });
  addEventListener("online", () => {
    retryDelay = RETRY_BASE_MS;
    if (!ws) connect();
  });
  addEventListener("load", syncRail);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(syncRail, () => {});

  addEventListener("pagehide", () => {
    leaving = true;
    clearTimeout(retryTimer);
    retryTimer = 0;
    dropSocket("page hidden");
    goOffline(false);
    if (countsWS) {
      const s = countsWS;
      countsWS = null;
      s.onclose = null;
      s.close(1000, "page hidden");
    }
  });
  // Restored from the back/forward cache: come back to life.
  addEventListener("pageshow", (ev) => {
    if (!ev.persisted) return;
    leaving = false;
    retryDelay = RETRY_BASE_MS;
    syncRail();
    connect();
    connectCounts();
  });

  // The one global: a read-only hook for tests and for sites that render
  // pages themselves (refresh() after swapping content). A page that has a
  // global readtag of its own keeps it; readtag runs without the hook.
  if (hook) console.warn("readtag: window.readtag is the page's own, so readtag's hook is not set");
  else Object.defineProperty(window, "readtag", {
    value: Object.freeze({
      state: () => ({
        connected,
        state,
        hidden,
        stale: rail.classList.contains("stale"),
        page: pageURL,
        id: pageID,
        you: youId,
        name: youName,
        position: currentPosition(),
        line: article ? readingLine() : 0,
        ghosts: Object.fromEntries([...ghosts].map(([id, g]) => [id, g.position])),
        names: Object.fromEntries([...ghosts].map(([id, g]) => [id, g.name])),
        total: crowdTotal,
        shown: lastLayout.shown,
        folded: lastLayout.folded,
        chips: lastLayout.chips,
        side: railOn ? side : "",
        wide: geo === WIDE,
      }),
      layout,
      refresh: () => {
        refresh();
        syncRail();
      },
    }),
    enumerable: true,
  });

  // A script in <head> without async (or an async one from the cache) runs
  // before there is a body: it starts once the document is parsed.
  function start() {
    if (!countsOnly) {
      box.append(keys, rail, map, mapLabel);
      document.body.append(railHost.host);
      mountCounter();
      setState("connecting");
    }
    if (mo) mo.observe(document.body, { childList: true, subtree: true });
    // The article moves without resizing when something above it grows.
    if (ro && !countsOnly) ro.observe(document.body);
    refresh();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });

  // ---------- The stylesheet ----------

  // A function so that it can stay at the end of the file.
  function CSS_TEXT() {
    return `
[hidden] { display: none !important; }
.rt {
  --bg: #fbfaf7; --bg-raised: #f3f1ec; --fg: #1d2024; --muted: #5f666e; --link: #1f5fae;
  --border: #dedad1; --border-strong: #c2bcb0; --live: #2e9e5b; --focus: #1f5fae; --crowd: #c2410c;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
  --hit: 24px;
  all: initial;
  display: block;
  position: relative;
  color: var(--fg);
  font: 400 13px/1.5 var(--font);
  text-align: left;
}
.rt.dark {
  --bg: #16181b; --bg-raised: #1d2024; --fg: #e7e4de; --muted: #a2a8af; --link: #8cb8ff;
  --border: #30343a; --border-strong: #4a5058; --live: #56c98a; --focus: #8cb8ff; --crowd: #fb923c;
}
@media (prefers-color-scheme: dark) {
  .rt.auto {
    --bg: #16181b; --bg-raised: #1d2024; --fg: #e7e4de; --muted: #a2a8af; --link: #8cb8ff;
    --border: #30343a; --border-strong: #4a5058; --live: #56c98a; --focus: #8cb8ff; --crowd: #fb923c;
  }
}
button { font: inherit; }

/* The rail spans the article (JS sets its left, width and height, and
 * --w and --tag) and lays every tag out itself (top in px), so that no two
 * tags overlap: see layout() in embed.js. Narrow: dots; wide: labelled tags
 * pointing at the text. */
.rail { position: absolute; top: 0; pointer-events: none; }
.ghost-leaders { position: absolute; top: 0; left: 0; overflow: visible; pointer-events: none; }
.ghost-leaders polyline {
  fill: none; stroke: var(--c, var(--muted)); stroke-width: 1.25; stroke-linecap: round; opacity: 0.85;
}
/* A dot is a 24 × 24 px tap target (--hit) that draws its small mark
 * (--tag) in ::before, at the rail's edge; the target reaches --hx past
 * the mark towards the text, never onto it (syncRail in embed.js). */
.ghost {
  position: absolute; top: 0; right: calc(-1 * var(--hx, 0px));
  box-sizing: border-box; width: var(--hit); height: var(--hit);
  margin: 0; padding: 0; border: 0; overflow: visible; border-radius: 5px;
  background: none; color: #111;
  font: 600 0/1 var(--font);
  transition: top 200ms ease-out;
  user-select: none; cursor: pointer; pointer-events: auto;
}
.ghost::before {
  content: ""; position: absolute; top: 50%; right: var(--hx, 0px); translate: 0 -50%;
  box-sizing: border-box; width: var(--tag); height: var(--tag); border-radius: 50%;
  background: var(--c, #8a8f98); box-shadow: 0 0 0 1.5px var(--bg);
}
.right .ghost, .right .ghost-more { right: auto; left: calc(-1 * var(--hx, 0px)); }
.right .ghost::before { right: auto; left: var(--hx, 0px); }
.no-taps .ghost, .no-taps .ghost-more { pointer-events: none; }
.ghost.ghost-ink-light { color: #fff; }
.ghost:focus-visible, .ghost.ghost-active, .ghost-more-count.ghost-active {
  outline: 2px solid var(--focus); outline-offset: -1px;
}
/* Your own marker: outlined, not filled. */
.ghost.ghost-self { z-index: 1; color: var(--fg); transition: none; }
.ghost.ghost-self::before { background: var(--bg); border: 2.5px solid var(--c, var(--muted)); }
.ghost.ghost-self.ghost-self-hidden::before, .wide .ghost.ghost-self.ghost-self-hidden { border-style: dashed; }
.ghost-enter { animation: ghost-in 220ms ease-out; }
@keyframes ghost-in { from { opacity: 0; scale: 0.6; } to { opacity: 1; scale: 1; } }

/* "+N": the readers a crowded spot has no room for. */
/* A 24 px target too: the transparent top and bottom borders are the
 * part of it that is not drawn. */
.ghost-more { position: absolute; top: 0; right: calc(-1 * var(--hx, 0px)); pointer-events: auto; }
.ghost-more-count {
  display: block; box-sizing: border-box;
  min-width: var(--hit); height: var(--hit);
  margin: 0; padding: 0 2px;
  border: solid transparent; border-width: calc((var(--hit) - var(--tag)) / 2) 0;
  border-radius: 999px; background: var(--bg-raised) padding-box; color: var(--fg);
  box-shadow: inset 0 0 0 1px var(--border-strong);
  font: 700 8.5px/1 var(--font); letter-spacing: -0.04em; white-space: nowrap; cursor: pointer;
}
/* Placed by placePop() in embed.js: in the margin, never over the text. */
.ghost-list {
  display: none; position: absolute; top: 0; left: 0; z-index: 5;
  box-sizing: border-box; min-width: min(176px, var(--pop-max, 176px)); max-width: var(--pop-max, none);
  max-height: 256px; overflow-y: auto; padding: 5px;
  border: 1px solid var(--border-strong); border-radius: 8px;
  background: var(--bg); box-shadow: 0 4px 16px rgb(0 0 0 / 0.18);
}
.ghost-more:hover .ghost-list, .ghost-more:focus-within .ghost-list, .ghost-more.open .ghost-list { display: block; }
.ghost-list-item {
  display: flex; box-sizing: border-box; min-height: var(--hit); align-items: center; gap: 0.45em; width: 100%;
  margin: 0; padding: 4px 6px; border: 0; border-radius: 5px;
  background: none; color: var(--fg);
  font: 13px/1.3 var(--font); text-align: left; white-space: nowrap; cursor: pointer;
}
.ghost-list-item:hover, .ghost-list-item:focus-visible, .ghost-list-item.ghost-active { background: var(--bg-raised); }
.ghost-list-item.ghost-active { outline: 2px solid var(--focus); outline-offset: -2px; }
.ghost-list-dot { flex: none; width: 10px; height: 10px; border-radius: 50%; }

/* Who a ghost is and how far they have read (hover, focus or tap). */
.ghost-tip, .crowd-map-label {
  position: absolute; top: 0; left: 0; z-index: 6; box-sizing: border-box; max-width: var(--pop-max, none);
  padding: 3px 8px; border-radius: 5px;
  background: var(--fg); color: var(--bg);
  font: 600 12px/1.35 var(--font); white-space: nowrap; pointer-events: none;
  box-shadow: 0 2px 8px rgb(0 0 0 / 0.2);
}
.crowd-map-label { position: fixed; font-weight: 500; }
/* A margin too narrow to read across (a phone): the popup is written down
 * the margin beside the text, like a book's spine, instead of over it. */
.pop-wrap, .pop-sheet { width: max-content; white-space: normal; }
.pop-vertical {
  writing-mode: vertical-rl; white-space: nowrap; max-width: none;
  max-height: calc(100vh - 16px); padding: 6px 2px; font-size: 11px; line-height: 1.3;
}
/* Down the margin, the list is one line of names, one after another. */
.ghost-list.pop-vertical {
  min-width: 0; max-height: calc(100vh - 16px); overflow: auto; padding: 0; border-width: 0; white-space: nowrap;
}
.ghost-list.pop-vertical .ghost-list-item {
  display: inline-flex; width: auto; min-height: 0; min-width: var(--hit);
  padding: 6px 2px; font-size: 11px; line-height: 1.3;
}

.wide .ghost {
  right: 7px; width: auto; min-width: var(--hit); max-width: calc(var(--w) - 7px); overflow: visible;
  padding: 0 7px 0 8px; border-radius: 5px; background: var(--c, #8a8f98);
  font-size: 11px; line-height: var(--tag); letter-spacing: 0.01em;
  white-space: nowrap; text-overflow: ellipsis;
  box-shadow: 0 1px 2px rgb(0 0 0 / 0.2);
}
.wide.right .ghost { right: auto; left: 7px; }
/* The point of the tag, towards the text. */
.wide .ghost::after {
  content: ""; position: absolute; top: 50%; left: 100%; translate: 0 -50%;
  border: 7px solid transparent; border-right-width: 0; border-left: 7px solid var(--c, #8a8f98);
}
.wide.right .ghost::after {
  left: auto; right: 100%; border-left-width: 0; border-right: 7px solid var(--c, #8a8f98);
}
.wide .ghost::before { content: none; }
.wide .ghost.ghost-self {
  line-height: calc(var(--tag) - 5px); box-shadow: none;
  background: var(--bg); border: 2.5px solid var(--c, var(--muted));
}
.wide .ghost.ghost-self::after { left: calc(100% + 2.5px); }
.wide.right .ghost.ghost-self::after { left: auto; right: calc(100% + 2.5px); }
.wide .ghost-more { right: 7px; }
.wide.right .ghost-more { right: auto; left: 7px; }
.wide .ghost-more-count {
  padding: 0 8px; border: 1px solid var(--border-strong); background: var(--bg-raised); box-shadow: none; font-size: 11px;
}

/* The rail's keyboard control: seen only through the ring it draws on
 * the tag it is on; fixed, so that focusing it scrolls nothing. */
.rail-keys {
  position: fixed; top: 0; left: 0; width: 1px; height: 1px; margin: 0; padding: 0; border: 0;
  overflow: hidden; clip-path: inset(50%); white-space: nowrap; opacity: 0;
}

/* The crowd minimap: where the page's readers are, like a code editor's
 * scrollbar markers, with a box for the part you are looking at. */
.crowd-map {
  position: fixed; top: 18vh; right: 4px; z-index: 3; width: 12px; height: 64vh;
  border-radius: 3px;
  background: color-mix(in srgb, var(--fg) 8%, transparent);
  box-shadow: inset 0 0 0 1px color-mix(in srgb, var(--fg) 14%, transparent);
  cursor: pointer; pointer-events: auto;
}
.wide .crowd-map { right: 12px; width: 28px; }
/* On a phone the map is 12 px wide but takes taps 24 px wide (the least
 * target size WCAG 2.2 asks for), reaching left over the margin. */
.crowd-map::before { content: ""; position: absolute; top: 0; bottom: 0; left: -8px; right: -4px; }
.wide .crowd-map::before { display: none; }
.crowd-map:focus-visible { outline: 2px solid var(--focus); outline-offset: 3px; }
.crowd-map-bars { position: absolute; inset: 0; }
.crowd-map-bars i {
  position: absolute; right: 0; border-radius: 1px 0 0 1px;
  background: var(--crowd); box-shadow: inset 0 -1px 0 var(--bg);
}
.crowd-map-view {
  position: absolute; left: -3px; right: -3px;
  border: 1.5px solid var(--fg); border-radius: 3px; pointer-events: none;
}

/* The presence pill: count, live state, hide me. */
.presence-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; }
.presence-bar.floating {
  position: fixed; bottom: 10px; z-index: 7; pointer-events: auto; cursor: pointer;
  padding: 3px; border-radius: 999px; background: var(--bg); box-shadow: 0 1px 6px rgb(0 0 0 / 0.2);
}
.presence-n { display: none; }
.floating:not(.open):not(:hover):not(:focus-within) .presence-n { display: inline; }
.floating:not(.open):not(:hover):not(:focus-within) .presence { padding: 0 7px 0 6px; font-size: 12px; }
.floating:not(.open):not(:hover):not(:focus-within) .presence > span:last-child {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
.floating:not(.open):not(:hover):not(:focus-within) .hide-me { display: none; }
/* Beside a rail of dots, closed, it is as narrow as the rail: the number
 * in a ring of the state's colour. */
.floating.narrow:not(.open):not(:hover):not(:focus-within) { padding: 0; }
.floating.narrow:not(.open):not(:hover):not(:focus-within) .presence {
  padding: 0 4px; border: 1.5px solid var(--live); font-size: 11px; line-height: 16px;
}
.floating.narrow:not(.open):not(:hover):not(:focus-within) .presence::before { display: none; }
.presence {
  display: inline-flex; align-items: center; gap: 0.5em;
  margin: 0; padding: 2px 11px 2px 10px;
  border: 1px solid var(--border); border-radius: 999px;
  color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums;
}
.presence::before {
  content: ""; width: 0.5em; height: 0.5em; border-radius: 50%;
  background: var(--live); box-shadow: 0 0 0 0.2em color-mix(in srgb, var(--live) 25%, transparent);
}
.presence[data-state="reconnecting"], .presence[data-state="connecting"] { --live: #c98a00; }
.presence[data-state="offline"] { --live: var(--muted); }
.presence[data-state="live"]::before { animation: live-pulse 2.4s ease-in-out infinite; }
@keyframes live-pulse { 50% { box-shadow: 0 0 0 0.35em color-mix(in srgb, var(--live) 10%, transparent); } }
.hide-me {
  padding: 2px 10px; border: 1px solid var(--border); border-radius: 999px;
  background: none; color: var(--link); font: 13px/1.5 var(--font); cursor: pointer;
}
.hide-me[aria-pressed="true"] { background: var(--bg-raised); color: var(--fg); }
.hide-me:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }

/* The channel is down: ghosts stay where they were, faded, until the next
 * welcome; with the pill in the page, a sign at the bottom of the window. */
.rail.stale .ghost:not(.ghost-self), .rail.stale .ghost-more, .rail.stale .ghost-leaders, .crowd-map.stale {
  opacity: 0.35; filter: grayscale(0.8);
}
.outage {
  position: fixed; bottom: 10px; z-index: 7; display: inline-flex; align-items: center; gap: 0.5em;
  box-sizing: border-box; max-width: calc(100vw - 4px); padding: 2px 10px 2px 9px;
  border: 1px solid var(--border); border-radius: 10px; background: var(--bg); color: var(--muted);
  font-size: 12px; line-height: 1.35; pointer-events: none; box-shadow: 0 1px 6px rgb(0 0 0 / 0.2);
}
.outage::before { content: ""; flex: none; width: 0.5em; height: 0.5em; border-radius: 50%; background: #c98a00; }
.outage[data-state="offline"]::before { background: var(--muted); }
.outage[hidden] { display: none; }

@media (prefers-reduced-motion: reduce) {
  .ghost { transition: none; }
  .ghost-enter { animation: none; }
  .presence[data-state="live"]::before { animation: none; }
}
@media (forced-colors: active) {
  .ghost::before, .wide .ghost { border: 1px solid CanvasText; forced-color-adjust: none; }
}
@media print { .rt { display: none !important; } }
`;
  }
})();
