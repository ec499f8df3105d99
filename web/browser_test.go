package web_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/screenshot.png from the browser test")

// TestMain says so when the browser tests will be skipped: a skip shows
// only with -v, and "ok" alone would hide that the page itself went
// untested. The line goes to the terminal if there is one, since in package
// list mode (go test ./...) the go command shows a passing package's output
// only with -v; else to stderr. With READTAG_E2E=1 (CI) the browser tests
// fail instead.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("READTAG_E2E") != "1" {
		const msg = "web: SKIPPING BROWSER TESTS: chromium not found (apt-get install chromium, or run .ci/run); set READTAG_E2E=1 to make this a failure\n"
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprint(tty, msg)
			tty.Close()
		} else {
			fmt.Fprint(os.Stderr, msg)
		}
	}
	os.Exit(m.Run())
}

// embeddedPosts serves the real, long posts instead of the small test ones.
func embeddedPosts(t *testing.T) func(*web.Config, *actors.Config) {
	return func(w *web.Config, _ *actors.Config) {
		lib, err := posts.Open(posts.Embedded, false)
		if err != nil {
			t.Fatal(err)
		}
		w.Posts = lib
	}
}

// newBrowser starts Debian's chromium, headless. Without it the browser
// tests are skipped loudly, unless READTAG_E2E=1 (as in CI) makes that a
// failure.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("READTAG_E2E") == "1" {
			t.Fatalf("READTAG_E2E=1 but chromium is not installed: %v", err)
		}
		t.Skip("SKIPPING BROWSER TEST: chromium not found (apt-get install chromium, or run .ci/run); set READTAG_E2E=1 to make this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	if err := chromedp.Do(bctx); err != nil { // starts the browser; no timeout on this first run
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// tab opens url in a new, isolated browser context (its own cookies and
// storage, like another person's browser) with the given viewport.
func tab(t *testing.T, browser context.Context, url string, w, h int64, setup ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	steps := append([]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(w, h)}, setup...)
	if err := chromedp.Do(ctx, append(steps, chromedp.Navigate(url))...); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return ctx
}

// reducedMotion makes the tab prefer reduced motion, as a phone set so would.
var reducedMotion = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	})
	return err
})

// embed.js draws in shadow roots of its own elements: the rail and the
// crowd minimap in <readtag-rail> (appended to the body), the presence pill
// and "Hide me" in <readtag-counter> (in the post's #presence-slot). These
// expressions reach into them; pill is a detached <p> until the script has
// run, so that a poll can start before it.
const (
	railRoot = `document.querySelector("readtag-rail").shadowRoot`
	pillRoot = `document.querySelector("readtag-counter").shadowRoot`
	pill     = `(document.querySelector("readtag-counter")?.shadowRoot.getElementById("presence") ?? document.createElement("p"))`
)

// eval runs JavaScript in the tab with a deadline.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// poll waits until the JavaScript expression is truthy, for at most d.
func poll(t *testing.T, ctx context.Context, what, js string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Fatalf("waiting %v for %s: %v", d, what, err)
	}
	return time.Since(start)
}

// scrollTo puts the page's reading line at fraction p of the article (so
// that its position is p).
func scrollTo(t *testing.T, ctx context.Context, p float64) {
	t.Helper()
	eval[any](t, ctx, fmt.Sprintf(`(() => { const r = document.getElementById("article").getBoundingClientRect();
		return %s(r.top + %g * r.height) })()`, lineTo, p))
}

// scroller is JavaScript that sets sc to what scrolls the page's article
// (a box a test page marks data-scroller, else the window's scrolling
// element), top0 to its visible top and vh to its visible height, in
// viewport px.
const scroller = `const sc = document.querySelector("[data-scroller]") || document.scrollingElement,
	top0 = sc === document.scrollingElement ? 0 : sc.getBoundingClientRect().top + sc.clientTop,
	vh = sc === document.scrollingElement ? innerHeight : sc.clientHeight;`

// lineTo is a JavaScript function that scrolls the page until its reading
// line (window.readtag.state().line) is at what is now y px down the
// viewport, by bisection: the line's place in the scrolled content grows
// with the scroll offset.
const lineTo = `((y) => { ` + scroller + `
	const want = y - top0 + sc.scrollTop;
	const at = (s) => { sc.scrollTo({ top: s, behavior: "instant" }); return sc.scrollTop + window.readtag.state().line - top0 };
	let lo = 0, hi = sc.scrollHeight - sc.clientHeight;
	while (hi - lo > 0.5) { const mid = (lo + hi) / 2; if (at(mid) < want) lo = mid; else hi = mid }
	at(hi); return true })`

func TestBrowserGhosts(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	url := ts.URL + "/posts/how-readtag-works"

	a := tab(t, browser, url, 1280, 800)
	b := tab(t, browser, url, 1280, 800)
	phone := tab(t, browser, url, 390, 844, reducedMotion)
	for name, ctx := range map[string]context.Context{"a": a, "b": b, "phone": phone} {
		poll(t, ctx, name+" connected", `window.readtag && window.readtag.state().connected`, waitLimit)
	}
	idA := eval[string](t, a, `window.readtag.state().you`)
	poll(t, b, "3 reading now", pill+`.textContent.includes("3 reading now")`, waitLimit)

	// a scrolls to the middle; b (desktop) and the phone must draw a's ghost
	// at the middle of their own article, whatever its height there.
	scrollTo(t, a, 0.5)
	ghost := fmt.Sprintf(railRoot+`.querySelector('#ghost-rail .ghost[data-id=%q]')`, idA)
	atMiddle := fmt.Sprintf(`(() => { const g = %s; return g && Math.abs(parseFloat(g.dataset.position) - 0.5) < 0.01 })()`, ghost)
	took := poll(t, b, "a's ghost to reach the middle on b", atMiddle, waitLimit)
	t.Logf("a's scroll reached b's page in %v", took)
	poll(t, phone, "a's ghost to reach the middle on the phone", atMiddle, waitLimit)

	// Drawn at the right height: the ghost's middle (its point) is at
	// article top + 0.5 × article height, in each page's own layout.
	// Measured with the move transition switched off, since a headless tab
	// in the background does not run its transitions.
	offset := fmt.Sprintf(`(() => { const g = %s, a = document.getElementById("article");
		g.style.transition = "none"; void g.offsetTop;
		const r = a.getBoundingClientRect(), want = r.top + 0.5 * r.height, b = g.getBoundingClientRect();
		return (b.top + b.bottom) / 2 - want })()`, ghost)
	// The page stores a ghost's position when the move arrives and draws it
	// at its next layout (a frame or 100 ms later; later still on a busy
	// machine), so the drawing is polled for, not read once.
	for name, ctx := range map[string]context.Context{"b": b, "phone": phone} {
		drawn := fmt.Sprintf(`Math.abs(%s) <= 3`, offset) // a position has four decimals: 1.5 px of a 30,000 px article
		tctx, cancel := context.WithTimeout(ctx, waitLimit)
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](drawn, chromedp.WithPollingInterval(10*time.Millisecond)))
		cancel()
		off := eval[float64](t, ctx, offset)
		h := eval[float64](t, ctx, `document.getElementById("article").getBoundingClientRect().height`)
		t.Logf("%s: ghost %.1f px from article top + 0.5 × %.0f px", name, off, h)
		if err != nil || math.Abs(off) > 3 {
			t.Errorf("%s: ghost drawn %.1f px away from the middle of the article", name, off)
		}
	}
	if d := eval[string](t, phone, ghost+`.style.transition = "", getComputedStyle(`+ghost+`).transitionDuration`); d != "0s" {
		t.Errorf("phone prefers reduced motion, but ghosts move with a %s transition", d)
	}
	if eval[bool](t, b, `!!`+railRoot+`.querySelector('#ghost-rail .ghost[data-id="'+window.readtag.state().you+'"]:not(.ghost-self)')`) {
		t.Error("b draws a ghost for itself")
	}

	// The picture for the README: b, scrolled near a, with a's and the
	// phone reader's ghosts in its margin.
	scrollTo(t, phone, 0.47)
	scrollTo(t, b, 0.46)
	poll(t, b, "the phone's ghost", fmt.Sprintf(`(() => { const s = window.readtag.state().ghosts; return Object.keys(s).length == 2 && Object.values(s).some(p => Math.abs(p - 0.47) < 0.01) })()`), waitLimit)
	time.Sleep(400 * time.Millisecond) // let the 250 ms move transition finish, for the picture only
	shot, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "readtag-browser.png")
	if *updateScreenshot {
		out = filepath.Join("..", "docs", "screenshot.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved to %s", out)

	// Closing a's tab removes its ghost from the others (the time is logged).
	start := time.Now()
	chromedp.Cancel(a)
	t.Logf("closing a's tab took %v", time.Since(start))
	gone := fmt.Sprintf(`!%s && window.readtag.state().ghosts[%q] === undefined`, ghost, idA)
	poll(t, b, "a's ghost to vanish on b", gone, waitLimit)
	poll(t, phone, "a's ghost to vanish on the phone", gone, waitLimit)
	t.Logf("a's ghost vanished %v after its tab closed", time.Since(start))
	poll(t, b, "2 reading now", pill+`.textContent.includes("2 reading now")`, waitLimit)
}

// ghostsOnce is JavaScript that is true when the rail draws every id in
// the page's state exactly once and nothing else (no duplicate ever).
const ghostsOnce = `(() => { const s = window.readtag.state(); const ids = Object.keys(s.ghosts);
	const els = [...` + railRoot + `.querySelectorAll('#ghost-rail .ghost:not(.ghost-self)')];
	return els.length == ids.length && ids.every((id) => els.filter((e) => e.dataset.id == id).length == 1) })()`

// TestBrowserReconnects restarts the server under two pages: while it is
// down they keep their ghosts, faded, and say so mid-article; once it is
// back they are live again within seconds, as the same readers (same id,
// name and colour on both sides), and every ghost is drawn once.
func TestBrowserReconnects(t *testing.T) {
	browser := newBrowser(t)
	embedded := embeddedPosts(t)
	// A reserved port: nothing else can take it while the server is down.
	ts := startServerAt(t, testutil.FreeAddr(t), embedded)
	const slug = "reading-together"
	url := ts.URL + "/posts/" + slug
	a := tab(t, browser, url, 1024, 768)
	b := tab(t, browser, url, 1024, 768)
	// Three readers of another kind (WebSocket clients that keep their
	// tokens as the page does) near where b reads.
	others := make([]*client.Conn, 3)
	for i := range others {
		others[i] = ts.dial(t, slug)
		if err := others[i].Scroll(0.42 + 0.05*float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	scrollTo(t, a, 0.45)
	scrollTo(t, b, 0.45)
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		poll(t, ctx, name+" sees the others", `window.readtag && Object.keys(window.readtag.state().ghosts).length == 4`, waitLimit)
		// Settled where they are (entering ghosts fade in and slide to their
		// place), so that what the outage keeps is their place.
		poll(t, ctx, name+"'s ghosts to settle", railRoot+`.getAnimations().length == 0`, waitLimit)
	}
	type who struct{ ID, Name, Color string }
	me := func(ctx context.Context) who {
		return eval[who](t, ctx, `(() => { const s = window.readtag.state();
			return { ID: s.you, Name: s.name, Color: `+railRoot+`.querySelector(".ghost-self").style.getPropertyValue("--c") } })()`)
	}
	before := map[string]who{"a": me(a), "b": me(b)}

	ts.Stop() // closes every socket with 1001
	down := `(() => { const s = window.readtag.state(); return !s.connected && s.stale
		&& Object.keys(s.ghosts).length == 4
		&& !` + railRoot + `.querySelector(".outage").hidden })()`
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		poll(t, ctx, name+" to keep its ghosts, faded, and say it is down", down, waitLimit)
		poll(t, ctx, name+" to draw each ghost once while down", ghostsOnce, waitLimit)
	}
	if op := eval[string](t, b, `getComputedStyle(`+railRoot+`.querySelector('#ghost-rail .ghost:not(.ghost-self)')).opacity`); op == "1" {
		t.Error("the ghosts are not faded while the server is down")
	}
	// The sign is in view mid-article, where the pill at the top is not.
	if !eval[bool](t, b, `(() => { const r = `+railRoot+`.querySelector(".outage").getBoundingClientRect();
		return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight })()`) {
		t.Error("the outage sign is not in the window")
	}
	screenshot(t, b, "ghosts-outage.png")

	ts = startServerAt(t, ts.Addr, embedded)
	back := time.Now()
	for i, c := range others {
		others[i] = ts.dialWith(t, slug, client.Options{Resume: c.Resume()})
		if err := others[i].Scroll(0.42 + 0.05*float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		// The design is about a second; 10 s only catches a broken one.
		poll(t, ctx, name+" back", `window.readtag.state().connected && !window.readtag.state().stale`, 10*time.Second)
	}
	t.Logf("both pages live %v after the server was back", time.Since(back).Round(time.Millisecond))
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		if got := me(ctx); got != before[name] {
			t.Errorf("%s came back as %+v, was %+v", name, got, before[name])
		}
	}
	// Each sees the other under the same id and name, and each ghost once.
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		other := before["b"]
		if name == "b" {
			other = before["a"]
		}
		poll(t, ctx, name+" to show the other as before, and all four once", fmt.Sprintf(`(() => {
			const s = window.readtag.state(); return Object.keys(s.ghosts).length == 4 && s.names[%q] == %q })()`, other.ID, other.Name), waitLimit)
		poll(t, ctx, name+" to draw each ghost once", ghostsOnce, waitLimit)
	}
	if op := eval[string](t, b, `getComputedStyle(`+railRoot+`.querySelector('#ghost-rail .ghost:not(.ghost-self)')).opacity`); op != "1" {
		t.Errorf("the ghosts are still faded (opacity %s) once live", op)
	}
}

// TestBrowserTakeover: a second tab that brings the first one's token (a
// duplicated tab) takes its reader over; the first is closed with 4409,
// gives its token up and joins as a new reader, so the two never take
// turns; a third reader sees each of them once.
func TestBrowserTakeover(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	url := ts.URL + "/posts/reading-together"
	a := tab(t, browser, url, 1024, 768)
	b := tab(t, browser, url, 1024, 768)
	poll(t, a, "a live", `window.readtag && window.readtag.state().connected`, waitLimit)
	oldA := eval[string](t, a, `window.readtag.state().you`)
	stored := eval[string](t, a, `JSON.stringify(Object.entries(sessionStorage))`)
	// c is another tab of the same person's browser with a's storage.
	c := tab(t, browser, ts.URL+"/healthz", 1024, 768)
	eval[bool](t, c, `(() => { for (const [k, v] of JSON.parse(`+strconv.Quote(stored)+`)) sessionStorage.setItem(k, v); return true })()`)
	tctx, cancel := context.WithTimeout(c, waitLimit)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	poll(t, c, "c to take a's reader over", fmt.Sprintf(`window.readtag && window.readtag.state().connected && window.readtag.state().you == %q`, oldA), waitLimit)
	poll(t, a, "a to come back as a new reader", fmt.Sprintf(`window.readtag.state().connected && window.readtag.state().you != %q`, oldA), 10*time.Second)
	newA := eval[string](t, a, `window.readtag.state().you`)
	poll(t, b, "b to see a and c once each", fmt.Sprintf(`(() => { const s = window.readtag.state();
		return Object.keys(s.ghosts).length == 2 && %q in s.ghosts && %q in s.ghosts })()`, oldA, newA), waitLimit)
	poll(t, b, "b to draw each ghost once", ghostsOnce, waitLimit)
	if got := eval[string](t, c, `window.readtag.state().you`); got != oldA {
		t.Errorf("c is %s, want %s: the tabs take turns", got, oldA)
	}
}

// TestBrowserAcrossNodes opens one post on two nodes of a cluster: each
// page must draw the other's ghost, and lose it when that tab closes.
func TestBrowserAcrossNodes(t *testing.T) {
	browser := newBrowser(t)
	nodes := startCluster(t, 2, embeddedPosts(t))
	a := tab(t, browser, nodes[0].URL+"/posts/fractions-not-pixels", 1024, 768)
	b := tab(t, browser, nodes[1].URL+"/posts/fractions-not-pixels", 390, 844)
	for name, ctx := range map[string]context.Context{"a": a, "b": b} {
		poll(t, ctx, name+" connected", `window.readtag && window.readtag.state().connected`, waitLimit)
	}
	idA := eval[string](t, a, `window.readtag.state().you`)
	idB := eval[string](t, b, `window.readtag.state().you`)
	poll(t, a, "b's ghost on node a's page", fmt.Sprintf(`window.readtag.state().ghosts[%q] !== undefined`, idB), waitLimit)
	poll(t, b, "a's ghost on node b's page", fmt.Sprintf(`window.readtag.state().ghosts[%q] !== undefined`, idA), waitLimit)

	scrollTo(t, a, 0.6)
	p := eval[float64](t, a, `window.readtag.state().position`)
	took := poll(t, b, "a's scroll on node b's page", fmt.Sprintf(`Math.abs(window.readtag.state().ghosts[%q] - %g) < 0.01`, idA, p), waitLimit)
	t.Logf("a scrolled to %.3f on node a; node b's page drew it after %v", p, took)

	chromedp.Cancel(a)
	poll(t, b, "a's ghost to vanish from node b's page", fmt.Sprintf(`window.readtag.state().ghosts[%q] === undefined`, idA), waitLimit)
}

// TestBrowserCrowd opens a post that 80 other readers (Go clients) read:
// the page shows the count of everyone, at most 24 ghosts, and the crowd
// minimap, whose bars are widest where most readers are.
func TestBrowserCrowd(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	for i := range 80 {
		c := ts.dial(t, "reading-together")
		// A crowd: most readers around 40 %, a few spread out.
		p := 0.4 + 0.03*math.Sin(float64(i))
		if i%4 == 0 {
			p = float64(i) / 80
		}
		_ = c.Scroll(math.Round(p*1e4) / 1e4)
	}
	page := tab(t, browser, ts.URL+"/posts/reading-together", 1280, 800)
	phone := tab(t, browser, ts.URL+"/posts/reading-together", 390, 844, darkMode)
	for _, ctx := range []context.Context{page, phone} {
		poll(t, ctx, "82 reading now", pill+`.textContent.includes("82 reading now")`, 10*time.Second)
		n := eval[int](t, ctx, `Object.keys(window.readtag.state().ghosts).length`)
		if n == 0 || n > 24 {
			t.Errorf("the page draws %d ghosts, want 1 to 24", n)
		}
		poll(t, ctx, "the minimap of 82 readers", `(() => { const m = `+railRoot+`.querySelector(".crowd-map");
			const bars = [...`+railRoot+`.querySelectorAll(".crowd-map-bars i")].map((b) => +b.dataset.count);
			return !!m && !m.hidden && bars.length == 50 && bars.reduce((a, b) => a + b, 0) == 82 })()`, 5*time.Second)
	}
	// The busiest band is drawn widest, and the map is visible on the light
	// desktop page and the dark phone page: a real size and a colour that
	// is not the page's background.
	for _, ctx := range []context.Context{page, phone} {
		busiest := eval[bool](t, ctx, `(() => { const bars = [...`+railRoot+`.querySelectorAll(".crowd-map-bars i")];
		const top = bars.reduce((a, b) => +b.dataset.count > +a.dataset.count ? b : a);
		const r = `+railRoot+`.querySelector(".crowd-map").getBoundingClientRect();
		return bars.every((b) => b.getBoundingClientRect().width <= top.getBoundingClientRect().width)
			&& top.getBoundingClientRect().width >= 0.9 * r.width && r.height > 200
			&& getComputedStyle(top).backgroundColor != getComputedStyle(document.body).backgroundColor })()`)
		if !busiest {
			t.Error("the minimap does not show the busiest part widest")
		}
	}
	scrollTo(t, page, 0.38)
	screenshot(t, page, "ghosts-crowd.png")
	scrollTo(t, phone, 0.38)
	screenshot(t, phone, "ghosts-crowd-phone-dark.png")

	// On a phone the map is 12 px wide but takes taps 24 px wide.
	if w := eval[float64](t, phone, `(() => { const m = `+railRoot+`.querySelector(".crowd-map");
		const b = getComputedStyle(m, "::before");
		return m.getBoundingClientRect().width - parseFloat(b.left) - parseFloat(b.right) })()`); w < 24 {
		t.Errorf("the phone's minimap takes taps %v px wide, want at least 24", w)
	}
	// It takes the keyboard: Tab reaches it, Enter jumps to where most
	// readers are, the arrows to the next part with readers below or above.
	scrollTo(t, page, 0)
	mapFocused := `(() => { const h = document.querySelector("readtag-rail");
		return document.activeElement === h && h.shadowRoot.activeElement?.classList.contains("crowd-map") })()`
	for i := 0; !eval[bool](t, page, mapFocused); i++ {
		if i > 400 {
			t.Fatal("Tab never reaches the minimap")
		}
		keyPress(t, page, kb.Tab)
	}
	if label := eval[string](t, page, railRoot+`.querySelector(".crowd-map").getAttribute("aria-label")`); !strings.Contains(label, "82 reading") {
		t.Errorf("the minimap's label %q does not say how many read", label)
	}
	busiest := eval[float64](t, page, `(() => { const bars = [...`+railRoot+`.querySelectorAll(".crowd-map-bars i")].map((b) => +b.dataset.count);
		return (bars.indexOf(Math.max(...bars)) + 0.5) / bars.length })()`)
	keyPress(t, page, kb.Enter)
	poll(t, page, "Enter on the minimap to reach the busiest part", fmt.Sprintf(`Math.abs(window.readtag.state().position - %g) < 0.03`, busiest), 5*time.Second)
	at := settled(t, page)
	keyPress(t, page, kb.ArrowDown)
	poll(t, page, "ArrowDown on the minimap to go further down", fmt.Sprintf(`window.readtag.state().position > %g + 0.01`, at), 5*time.Second)
	at = settled(t, page)
	keyPress(t, page, kb.ArrowUp)
	poll(t, page, "ArrowUp on the minimap to go back up", fmt.Sprintf(`window.readtag.state().position < %g - 0.01`, at), 5*time.Second)
}

// settled waits for the page to stop scrolling (a smooth scroll's end:
// the same position 100 ms apart) and returns its reading position.
func settled(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	last := eval[float64](t, ctx, `window.readtag.state().position`)
	deadline := time.Now().Add(waitLimit)
	for {
		time.Sleep(100 * time.Millisecond) // the interval being compared, not a hope
		p := eval[float64](t, ctx, `window.readtag.state().position`)
		if p == last {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page still scrolling after %v (at %v)", waitLimit, p)
		}
		last = p
	}
}
