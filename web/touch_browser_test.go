package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
)

// overlayJS defines, in the page, the helpers the touch and overlay tests
// measure with: every line box of the article's text (Range.getClientRects
// over each text node), the tap targets of the rail, and which of a set of
// rects cover that text.
const overlayJS = `(() => {
	const root = document.querySelector("readtag-rail").shadowRoot;
	const textRects = (article) => {
		const out = [], w = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
		for (let n = w.nextNode(); n; n = w.nextNode()) {
			if (!n.data.trim()) continue;
			const r = document.createRange();
			r.selectNodeContents(n);
			for (const b of r.getClientRects()) if (b.width > 0 && b.height > 0) out.push(b);
		}
		return out;
	};
	const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height } };
	const cut = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
	// What of els (name -> element) covers the article's text, as "name over 'text'".
	const overText = (article, els) => {
		const text = textRects(article), bad = [];
		for (const [name, e] of Object.entries(els)) {
			for (const r of e.getClientRects ? [box(e)] : []) {
				const t = text.find((x) => cut(r, x));
				if (t) bad.push(name + " " + JSON.stringify(r) + " over text at " + JSON.stringify(box({ getBoundingClientRect: () => t })));
			}
		}
		return bad;
	};
	window.__rt = { root, textRects, box, cut, overText };
	return true;
})()`

// checkTargets asserts that every visible dot and chip of the rail is a
// tap target of at least 24 × 24 px, that no two overlap, and that none
// and no leader line covers the article's text. It returns how many it
// measured.
func checkTargets(t *testing.T, ctx context.Context, what, article string) int {
	t.Helper()
	eval[bool](t, ctx, overlayJS)
	// Measured at rest: a tag that has just arrived grows into place.
	poll(t, ctx, what+": the tags at rest", `[...`+railRoot+`.querySelectorAll(".ghost")].every((e) => e.getAnimations().length == 0)`, waitLimit)
	var m struct {
		Targets  int
		Small    []string
		Overlaps []string
		OverText []string
	}
	js := fmt.Sprintf(`(() => {
		window.readtag.layout();
		const { root, box, cut, overText } = window.__rt, article = document.querySelector(%q);
		const els = [...root.querySelectorAll("#ghost-rail .ghost:not([hidden]), #ghost-rail .ghost-more:not([hidden]) .ghost-more-count")];
		const named = {};
		els.forEach((e, i) => { named[(e.dataset.id || e.textContent || "you") + "#" + i] = e });
		[...root.querySelectorAll(".ghost-leaders polyline")].forEach((l, i) => { named["leader#" + i] = l });
		const small = [], overlaps = [];
		els.forEach((e, i) => {
			const r = box(e);
			if (r.width < 24 || r.height < 24) small.push(e.className + " " + JSON.stringify(r));
			for (const f of els.slice(i + 1)) if (cut(r, box(f))) overlaps.push(JSON.stringify(r) + " and " + JSON.stringify(box(f)));
		});
		return JSON.stringify({ Targets: els.length, Small: small, Overlaps: overlaps, OverText: overText(article, named) });
	})()`, article)
	if err := json.Unmarshal([]byte(eval[string](t, ctx, js)), &m); err != nil {
		t.Fatal(err)
	}
	if m.Targets == 0 {
		t.Fatalf("%s: no dots or chips to measure", what)
	}
	for _, s := range m.Small {
		t.Errorf("%s: a target smaller than 24 × 24 px: %s", what, s)
	}
	for _, s := range m.Overlaps {
		t.Errorf("%s: targets overlap: %s", what, s)
	}
	for _, s := range m.OverText {
		t.Errorf("%s: %s", what, s)
	}
	return m.Targets
}

// notOverText asserts that the element sel (in the rail's shadow root) is
// shown and covers none of the article's text; or, with sheetOK, on a page
// whose margin is too narrow for even a line written down it, that it is
// the sheet at the bottom of the window.
func notOverText(t *testing.T, ctx context.Context, what, article, sel string, sheetOK bool) string {
	t.Helper()
	eval[bool](t, ctx, overlayJS)
	var m struct {
		Shown    bool
		Box      map[string]float64
		Class    string
		OverText []string
	}
	js := fmt.Sprintf(`(() => {
		const { root, box, overText } = window.__rt, e = root.querySelector(%q);
		const shown = !!e && e.getClientRects().length > 0 && box(e).width > 0;
		return JSON.stringify({ Shown: shown, Box: shown ? box(e) : null, Class: e ? e.className : "",
			OverText: shown ? overText(document.querySelector(%q), { [%q]: e }) : [] });
	})()`, sel, article, sel)
	if err := json.Unmarshal([]byte(eval[string](t, ctx, js)), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Shown {
		t.Fatalf("%s: %s is not shown", what, sel)
	}
	if sheetOK {
		vh := eval[float64](t, ctx, `innerHeight`)
		if !strings.Contains(m.Class, "pop-sheet") || m.Box["bottom"] > vh || m.Box["bottom"] < vh-16 {
			t.Errorf("%s: %s at %v (%s) is not the sheet at the bottom of the %g px window", what, sel, m.Box, m.Class, vh)
		}
	} else {
		for _, s := range m.OverText {
			t.Errorf("%s: %s", what, s)
		}
	}
	t.Logf("%s: %s at %v (%s)", what, sel, m.Box, m.Class)
	return m.Class
}

// keyPress sends one key to the tab as a keyboard would.
func keyPress(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatalf("press %q: %v", key, err)
	}
}

// railFocused is whether the rail's keyboard control has the focus.
const railFocused = `(() => { const h = document.querySelector("readtag-rail");
	return document.activeElement === h && h.shadowRoot.activeElement?.classList.contains("rail-keys") })()`

// tabToRail presses Tab until the rail's keyboard control has the focus.
func tabToRail(t *testing.T, ctx context.Context) int {
	t.Helper()
	for i := 1; i <= 400; i++ {
		keyPress(t, ctx, kb.Tab)
		if eval[bool](t, ctx, railFocused) {
			return i
		}
	}
	t.Fatal("400 presses of Tab never reached the ghosts")
	return 0
}

// checkKeyboard walks the rail with the keyboard: Tab reaches it, Enter
// shows the name of the tag the ring is on (in the margin, not over the
// text), Escape closes it; arrows reach the "+N" chip, Enter opens its
// list, Escape closes it. The rail is read by screen readers once: hidden
// from them, with nothing focusable inside, one control outside it, and
// the count the one live region.
func checkKeyboard(t *testing.T, ctx context.Context, what, article string, wantChip, sheetOK bool) {
	t.Helper()
	// Tab scrolls to each link it passes: back to where the ghosts are
	// (the focus stays on the rail), and Home puts the ring on the top tag.
	y := eval[float64](t, ctx, `scrollY`)
	tabs := tabToRail(t, ctx)
	eval[any](t, ctx, fmt.Sprintf(`window.scrollTo(0, %g), window.readtag.layout(), true`, y))
	keyPress(t, ctx, kb.Home)
	tipText := `(() => { const t = ` + railRoot + `.querySelector("#ghost-rail .ghost-tip"); return t && !t.hidden ? t.textContent : "" })()`
	tip := tipText + ` != ""`
	ring := railRoot + `.querySelector(".ghost-active")`
	if !eval[bool](t, ctx, `!!`+ring) {
		t.Fatalf("%s: the focused rail shows no ring on a tag", what)
	}
	if eval[bool](t, ctx, `!!`+railRoot+`.querySelector("#ghost-rail .ghost-tip:not([hidden])")`) {
		t.Errorf("%s: focus alone opened the tooltip", what)
	}
	keyPress(t, ctx, kb.Enter)
	poll(t, ctx, what+": Enter shows the name", tip, 2*time.Second)
	text := eval[string](t, ctx, tipText)
	label := eval[string](t, ctx, railRoot+`.querySelector(".rail-keys").getAttribute("aria-label")`)
	if !strings.HasPrefix(label, text) {
		t.Errorf("%s: the control's label %q does not name what the tooltip shows (%q)", what, label, text)
	}
	tipClass := notOverText(t, ctx, what+", the tooltip", article, "#ghost-rail .ghost-tip", sheetOK)
	keyPress(t, ctx, kb.Escape)
	poll(t, ctx, what+": Escape closes the name", tipText+` == ""`, 2*time.Second)
	if !eval[bool](t, ctx, railFocused) {
		t.Errorf("%s: Escape took the focus off the rail", what)
	}
	t.Logf("%s: %d Tabs to the rail, name %q (%s)", what, tabs, text, tipClass)

	if wantChip {
		for i := 0; i < 40 && !eval[bool](t, ctx, ring+`?.classList.contains("ghost-more-count")`); i++ {
			keyPress(t, ctx, kb.ArrowDown)
		}
		if !eval[bool](t, ctx, ring+`?.classList.contains("ghost-more-count")`) {
			t.Fatalf("%s: the arrow keys never reach the +N chip", what)
		}
		keyPress(t, ctx, " ")
		poll(t, ctx, what+": Space opens the +N list", `!!`+railRoot+`.querySelector(".ghost-more.open .ghost-list .ghost-list-item.ghost-active")`, 2*time.Second)
		notOverText(t, ctx, what+", the +N list", article, ".ghost-more.open .ghost-list", sheetOK)
		// The arrows move through the list, and the ring stays on its row
		// when the list is redrawn (every move of anyone lays the rail out).
		keyPress(t, ctx, kb.ArrowDown)
		second := `[...` + railRoot + `.querySelectorAll(".ghost-more.open .ghost-list-item")].indexOf(` + ring + `) == 1`
		poll(t, ctx, what+": ArrowDown to the list's second row", second, 2*time.Second)
		eval[any](t, ctx, `window.readtag.layout()`)
		if !eval[bool](t, ctx, second) {
			t.Errorf("%s: a layout took the ring off the list's second row", what)
		}
		keyPress(t, ctx, kb.Escape)
		poll(t, ctx, what+": Escape closes the +N list", `!`+railRoot+`.querySelector(".ghost-more.open") && `+ring+`?.classList.contains("ghost-more-count")`, 2*time.Second)
	}

	var a struct {
		RailHidden       string
		FocusableInside  int
		LiveRegions      int
		ControlHidden    bool
		ControlLabel     string
		ControlFocusable bool
	}
	js := `(() => {
		const roots = [document, ...[...document.querySelectorAll("*")].filter((e) => e.shadowRoot).map((e) => e.shadowRoot)];
		const root = document.querySelector("readtag-rail").shadowRoot, rail = root.getElementById("ghost-rail"), keys = root.querySelector(".rail-keys");
		const focusable = [...rail.querySelectorAll("*")].filter((e) => e.tabIndex >= 0);
		return JSON.stringify({ RailHidden: rail.getAttribute("aria-hidden"), FocusableInside: focusable.length,
			LiveRegions: roots.reduce((n, r) => n + r.querySelectorAll("[aria-live]:not([aria-live=off]), [role=status], [role=log], [role=alert]").length, 0),
			ControlHidden: !!keys.closest("[aria-hidden=true]"), ControlLabel: keys.getAttribute("aria-label") || "",
			ControlFocusable: keys.tabIndex >= 0 && !keys.hidden });
	})()`
	if err := json.Unmarshal([]byte(eval[string](t, ctx, js)), &a); err != nil {
		t.Fatal(err)
	}
	if a.RailHidden != "true" || a.FocusableInside != 0 || a.LiveRegions != 1 || a.ControlHidden || a.ControlLabel == "" || !a.ControlFocusable {
		t.Errorf("%s: the rail is not read once: %+v (want the rail aria-hidden with nothing in the tab order inside, one labelled control outside it, one live region)", what, a)
	}
}

// hoverMapLabel moves the mouse onto the crowd minimap and checks its
// label opens beside it without covering the text.
func hoverMapLabel(t *testing.T, ctx context.Context, what, article string) {
	t.Helper()
	var c struct{ X, Y float64 }
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `(() => { const r = `+railRoot+`.querySelector(".crowd-map").getBoundingClientRect();
		return JSON.stringify({ X: r.left + r.width / 2, Y: r.top + r.height / 2 }) })()`)), &c); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, c.X, c.Y)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, what+": the minimap's label", `!!`+railRoot+`.querySelector(".crowd-map-label:not([hidden])")`, 2*time.Second)
	notOverText(t, ctx, what+", the minimap label", article, ".crowd-map-label", false)
}

// TestBrowserGhostTargetsAndOverlays: seven readers at one place of a
// post, seen on a desktop and on a phone: every dot and chip is a 24 × 24
// px target off the text, the tooltip, the "+N" list and the minimap's
// label open without covering the text, and the keyboard reaches all of
// it while screen readers hear the rail once.
func TestBrowserGhostTargetsAndOverlays(t *testing.T) {
	browser := newBrowser(t)
	posts := embeddedPosts(t)
	ts := startServer(t, func(w *web.Config, a *actors.Config) {
		posts(w, a)
		a.CrowdThreshold = 6 // the minimap shows from a handful of readers
	})
	const slug, at = "how-readtag-works", 0.3
	for range 7 {
		_ = ts.dial(t, slug).Scroll(at)
	}
	url := ts.URL + "/posts/" + slug
	for _, s := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(s.name, func(t *testing.T) {
			ctx := tab(t, browser, url, s.w, s.h, reducedMotion)
			poll(t, ctx, "seven ghosts and the minimap", `(() => { const s = window.readtag && window.readtag.state();
				return s && s.connected && Object.keys(s.ghosts).length == 7 && s.total == 8 })()`, 10*time.Second)
			scrollTo(t, ctx, at-0.02)
			poll(t, ctx, "a +N chip", `window.readtag.layout() || window.readtag.state().chips > 0`, 5*time.Second)
			n := checkTargets(t, ctx, s.name, "#article")
			t.Logf("%s: %d targets, all at least 24 × 24 px and off the text", s.name, n)
			if s.name == "desktop" {
				// A mouse over a ghost: its name opens into the margin.
				var c struct{ X, Y float64 }
				if err := json.Unmarshal([]byte(eval[string](t, ctx, `(() => { const r = `+railRoot+`.querySelector("#ghost-rail .ghost:not(.ghost-self):not([hidden])").getBoundingClientRect();
					return JSON.stringify({ X: r.left + r.width / 2, Y: r.top + r.height / 2 }) })()`)), &c); err != nil {
					t.Fatal(err)
				}
				tctx, cancel := context.WithTimeout(ctx, waitLimit)
				defer cancel()
				if err := chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, c.X, c.Y)); err != nil {
					t.Fatal(err)
				}
				poll(t, ctx, "the tooltip on hover", `!!`+railRoot+`.querySelector("#ghost-rail .ghost-tip:not([hidden])")`, 2*time.Second)
				notOverText(t, ctx, "desktop, the tooltip on hover", "#article", "#ghost-rail .ghost-tip", false)
				if err := chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1)); err != nil {
					t.Fatal(err)
				}
			}
			checkKeyboard(t, ctx, s.name, "#article", true, false)
			hoverMapLabel(t, ctx, s.name, "#article")
			if s.name == "phone" {
				// The picture: a name written down the phone's margin.
				keyPress(t, ctx, kb.Home)
				keyPress(t, ctx, kb.ArrowDown)
				keyPress(t, ctx, kb.Enter)
				notOverText(t, ctx, "phone, a ghost's name", "#article", "#ghost-rail .ghost-tip", false)
				screenshot(t, ctx, "ghosts-phone-name.png")
			}
		})
	}
}

// TestBrowserEmbedHostileTargets: on a foreign page whose stylesheet
// unsets everything, the dots are still 24 × 24 px targets off the text and
// the keyboard reaches them, on a desktop; on a phone whose page leaves a
// 12 px margin there is no room for a target beside the text, so the dots
// take no taps there (nothing covers the text) and the keyboard still
// names them, in a sheet at the bottom of the window (the one place a name
// may cover text, and only when asked for).
func TestBrowserEmbedHostileTargets(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "hostile.html"})
	startEmbed(t, nil, site)
	url := site.Origin + "/posts/reading-together"
	other := openHost(t, browser, url, 1280, 800)
	other.connected(t)
	other.scrollToParagraph(t, "article", 3)
	for _, s := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(s.name, func(t *testing.T) {
			p := openHost(t, browser, url, s.w, s.h)
			p.connected(t)
			poll(t, p.ctx, "the other reader's ghost", `Object.keys(window.readtag.state().ghosts).length == 1`, waitLimit)
			p.scrollToParagraph(t, "article", 2)
			if s.name == "desktop" {
				checkTargets(t, p.ctx, s.name, "article")
			} else {
				// No tap targets: the marks let taps through to the page.
				if eval[string](t, p.ctx, `getComputedStyle(`+railRoot+`.querySelector("#ghost-rail .ghost")).pointerEvents`) != "none" {
					t.Error("phone: a dot in a 12 px margin takes taps (its target would cover the text)")
				}
			}
			checkKeyboard(t, p.ctx, s.name, "article", false, s.name == "phone")
		})
	}
}
