package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdpnet "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

// darkMode makes the tab prefer a dark colour scheme (and reduced motion,
// so that what is measured is where things end up).
var darkMode = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{
			{Name: "prefers-color-scheme", Value: "dark"},
			{Name: "prefers-reduced-motion", Value: "reduce"},
		},
	})
	return err
})

// touchScreen makes the tab a touch device.
var touchScreen = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1})
	return err
})

// screenshot saves the tab's viewport as docs/name (with -update-screenshot)
// or in the temporary directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	out := filepath.Join(os.TempDir(), "readtag-"+name)
	if *updateScreenshot {
		out = filepath.Join("..", "docs", name)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved to %s", out)
}

// rail is what a page draws in its margin, as measured in the page.
type rail struct {
	Boxes []struct {
		ID                       string
		Left, Top, Right, Bottom float64
	}
	Shown, Folded, Ghosts int
	Chip                  string
	ArticleLeft           float64
	Names                 map[string]string
	You                   string
}

// measureRail lays the rail out now and measures every visible tag and chip.
const measureRail = `(() => {
	window.readtag.layout();
	const s = window.readtag.state();
	const els = [...` + railRoot + `.querySelectorAll("#ghost-rail .ghost, #ghost-rail .ghost-more-count")]
		.filter((e) => e.getClientRects().length > 0);
	const boxes = els.map((e) => { const r = e.getBoundingClientRect();
		return { ID: e.dataset.id || (e.classList.contains("ghost-self") ? "you" : "chip"),
			Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom } });
	const chips = els.filter((e) => e.classList.contains("ghost-more-count")).map((e) => e.textContent);
	return JSON.stringify({ Boxes: boxes, Shown: s.shown, Folded: s.folded, Ghosts: Object.keys(s.ghosts).length,
		Chip: chips.join(","), ArticleLeft: document.getElementById("article").getBoundingClientRect().left,
		Names: s.names, You: s.name });
})()`

func readRail(t *testing.T, ctx context.Context) rail {
	t.Helper()
	var r rail
	if err := json.Unmarshal([]byte(eval[string](t, ctx, measureRail)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkRail asserts that no two visible tags intersect, that they all sit
// in the margin left of the text, that everyone is either shown or counted
// in a chip, and that the names are unique.
func checkRail(t *testing.T, what string, r rail, minShown int) {
	t.Helper()
	for i, a := range r.Boxes {
		if a.Left < 0 || a.Right > r.ArticleLeft+0.5 || a.Bottom-a.Top < 8 {
			t.Errorf("%s: %s's box %+v is not in the margin (0 to %.1f px) or too small to see", what, a.ID, a, r.ArticleLeft)
		}
		for _, b := range r.Boxes[i+1:] {
			w := math.Min(a.Right, b.Right) - math.Max(a.Left, b.Left)
			h := math.Min(a.Bottom, b.Bottom) - math.Max(a.Top, b.Top)
			if w > 0.5 && h > 0.5 {
				t.Errorf("%s: %s %+v and %s %+v overlap by %.1f × %.1f px", what, a.ID, a, b.ID, b, w, h)
			}
		}
	}
	if r.Shown+r.Folded != r.Ghosts+1 {
		t.Errorf("%s: %d shown + %d in the chip, want all %d ghosts and you", what, r.Shown, r.Folded, r.Ghosts)
	}
	if r.Shown < minShown {
		t.Errorf("%s: only %d tags shown, want at least %d", what, r.Shown, minShown)
	}
	if r.Folded > 0 && r.Chip != fmt.Sprintf("+%d", r.Folded) {
		t.Errorf("%s: chip says %q for %d folded readers", what, r.Chip, r.Folded)
	}
	seen := map[string]bool{r.You: true}
	if r.You == "" {
		t.Errorf("%s: the page has no name for you", what)
	}
	for id, n := range r.Names {
		if n == "" || n == "A reader" || seen[n] {
			t.Errorf("%s: ghost %s is named %q (empty, default or taken)", what, id, n)
		}
		seen[n] = true
	}
}

// TestBrowserGhostLayout puts 2, 4, 12 and 100 readers at the same place of
// a post (Go clients plus a desktop and a phone page): on both screens no
// two tags overlap, all sit in the margin, and whoever has no room is
// counted in a "+N" chip.
func TestBrowserGhostLayout(t *testing.T) {
	browser := newBrowser(t)
	const slug, at = "how-readtag-works", 0.3
	for _, n := range []int{2, 4, 12, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ts := startServer(t, embeddedPosts(t))
			for range n - 2 {
				_ = ts.dial(t, slug).Scroll(at)
			}
			deskSetup := reducedMotion
			if n == 4 {
				deskSetup = darkMode
			}
			url := ts.URL + "/posts/" + slug
			screens := []struct {
				name string
				ctx  context.Context
				min  int // tags a stack shows before folding into the chip
			}{
				{"desktop", tab(t, browser, url, 1280, 900, deskSetup), 5},
				{"phone", tab(t, browser, url, 390, 844, reducedMotion), 4},
			}
			want := min(n-1, 24) // a crowded post shows each reader its 24 nearest
			for _, s := range screens {
				poll(t, s.ctx, s.name+" connected", `window.readtag && window.readtag.state().connected`, 5*time.Second)
				scrollTo(t, s.ctx, at)
			}
			for _, s := range screens {
				poll(t, s.ctx, fmt.Sprintf("%s to see %d ghosts at %g", s.name, want, at), fmt.Sprintf(`(() => {
					const g = Object.values(window.readtag.state().ghosts);
					return g.length == %d && g.every((p) => Math.abs(p - %g) < 0.01) })()`, want, at), 10*time.Second)
				poll(t, s.ctx, s.name+" count", fmt.Sprintf(pill+`.textContent.includes("%d reading now")`, n), 5*time.Second)
				r := readRail(t, s.ctx)
				checkRail(t, fmt.Sprintf("%d readers on %s", n, s.name), r, min(want+1, s.min))
				t.Logf("%d readers, %s: %d tags shown, chip %q, margin %.0f px", n, s.name, r.Shown, r.Chip, r.ArticleLeft)
			}
			// The pictures: each page reads with the crowd, its own marker in
			// the stack at its reading line, a third down the screen.
			switch n {
			case 4:
				screenshot(t, screens[0].ctx, "ghosts-dark.png")
			case 12:
				screenshot(t, screens[0].ctx, "ghosts-desktop.png")
				screenshot(t, screens[1].ctx, "ghosts-phone.png")
			}
		})
	}
}

// ghostCenter is the middle of a ghost's tag, in viewport pixels.
func ghostCenter(t *testing.T, ctx context.Context, id string) (x, y float64) {
	t.Helper()
	var p struct{ X, Y float64 }
	js := fmt.Sprintf(`(() => { const r = `+railRoot+`.querySelector('#ghost-rail .ghost[data-id=%q]').getBoundingClientRect();
		return JSON.stringify({ X: r.left + r.width / 2, Y: r.top + r.height / 2 }) })()`, id)
	if err := json.Unmarshal([]byte(eval[string](t, ctx, js)), &p); err != nil {
		t.Fatal(err)
	}
	return p.X, p.Y
}

// ownPosition is the page's own position, as it sends it.
const ownPosition = `window.readtag.state().position`

// TestBrowserGhostNameAndJump: hovering a ghost names it and says how far
// it has read; clicking it scrolls the page to that place. On a phone,
// focus (as after a tap) shows the same.
func TestBrowserGhostNameAndJump(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	// The page reads a little above the ghost: near enough that the ghost
	// is on a phone's screen too.
	const slug, near = "how-readtag-works", 0.115
	other := ts.dial(t, slug)
	_ = other.Scroll(0.12)
	page := tab(t, browser, ts.URL+"/posts/"+slug, 1280, 900, reducedMotion)
	phone := tab(t, browser, ts.URL+"/posts/"+slug, 390, 844, reducedMotion, touchScreen)
	o := other.You()
	if o.Name == "" {
		t.Fatal("the Go reader has no name")
	}
	for _, ctx := range []context.Context{page, phone} {
		poll(t, ctx, "the other reader's ghost at 12%", fmt.Sprintf(`(() => { const g = window.readtag && window.readtag.state();
			return g && g.connected && Math.abs(g.ghosts[%q] - 0.12) < 0.001 && g.names[%q] == %q })()`, o.ID, o.ID, o.Name), 5*time.Second)
	}
	scrollTo(t, page, near) // the ghost is on screen, a little below the reading line
	x, y := ghostCenter(t, page, o.ID)
	tctx, cancel := context.WithTimeout(page, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)); err != nil {
		t.Fatal(err)
	}
	tip := fmt.Sprintf(`(() => { const t = `+railRoot+`.querySelector("#ghost-rail .ghost-tip");
		return !!t && !t.hidden && t.textContent == %q })()`, o.Name+" · 12% read")
	poll(t, page, "the tooltip with the name and 12% read", tip, 2*time.Second)
	screenshot(t, page, "ghosts-hover.png")

	if err := chromedp.Do(tctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
	took := poll(t, page, "the page to scroll to the ghost's place", `Math.abs(`+ownPosition+` - 0.12) < 0.002`, 3*time.Second)
	t.Logf("clicking %s scrolled to %.4f in %v", o.Name, eval[float64](t, page, ownPosition), took)

	// On a phone, the first tap on a ghost says who it is, the second goes there.
	// The desktop page is now at 12 % too, and its ghost shares the other's
	// stack on the phone: waited for and laid out first, so that the ghost
	// tapped is still where it was measured.
	poll(t, phone, "the desktop page's ghost at 12%", `(() => { const g = Object.values(window.readtag.state().ghosts);
		return g.length == 2 && g.every((p) => Math.abs(p - 0.12) < 0.002) })()`, 5*time.Second)
	scrollTo(t, phone, near)
	eval[any](t, phone, `window.readtag.layout()`)
	tap := func() {
		t.Helper()
		x, y := ghostCenter(t, phone, o.ID)
		tctx, cancel := context.WithTimeout(phone, 5*time.Second)
		defer cancel()
		err := chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: x, Y: y}}}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
			return err
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	tap()
	poll(t, phone, "the tooltip after a tap", tip, 2*time.Second)
	if p := eval[float64](t, phone, ownPosition); math.Abs(p-near) > 0.002 {
		t.Errorf("the first tap moved the phone's page to %.4f", p)
	}
	tap()
	poll(t, phone, "the second tap to scroll the phone to the ghost's place", `Math.abs(`+ownPosition+` - 0.12) < 0.002`, 3*time.Second)

	eval[any](t, phone, `(document.activeElement.shadowRoot ? document.activeElement.shadowRoot.activeElement : document.activeElement)?.blur(), true`)
	eval[any](t, phone, fmt.Sprintf(railRoot+`.querySelector('#ghost-rail .ghost[data-id=%q]').focus()`, o.ID))
	poll(t, phone, "the tooltip on focus", tip, 2*time.Second)
	if eval[string](t, phone, railRoot+`.getElementById("ghost-rail").getAttribute("aria-hidden")`) != "true" {
		t.Error("the ghost rail is not hidden from screen readers")
	}
	if eval[string](t, phone, pill+`.getAttribute("aria-live")`) != "polite" {
		t.Error("the count is not announced politely")
	}
}

// TestBrowserLiveState: the pill says when the live channel is down and
// counts down to the next attempt, and says live again once it is back.
func TestBrowserLiveState(t *testing.T) {
	browser := newBrowser(t)
	embedded := embeddedPosts(t)
	// A reserved port: nothing else can take it while the server is down.
	ts := startServerAt(t, testutil.FreeAddr(t), embedded)
	page := tab(t, browser, ts.URL+"/posts/reading-together", 1024, 768)
	poll(t, page, "live", pill+`.dataset.state == "live" && `+pill+`.textContent.includes("1 reading now")`, 5*time.Second)

	ts.Stop()
	poll(t, page, "reconnecting with a countdown", pill+`.dataset.state == "reconnecting" && /Reconnecting( in \d+\ss)?…/.test(`+pill+`.textContent)`, 5*time.Second)
	if !eval[bool](t, page, pillRoot+`.querySelector("#presence .presence-retry").getAttribute("aria-hidden") == "true"`) {
		t.Error("the countdown is inside the announced text")
	}
	screenshot(t, page, "pill-reconnecting.png")
	startServerAt(t, ts.Addr, embedded)
	poll(t, page, "live again", pill+`.dataset.state == "live" && `+pill+`.textContent.includes("1 reading now")`, 20*time.Second)

	// The browser loses its network: offline, no retries; back: live.
	network := func(offline bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, cdpnet.OverrideNetworkState, cdpnet.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
			return err
		})
	}
	tctx, cancel := context.WithTimeout(page, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, network(true)); err != nil {
		t.Fatal(err)
	}
	poll(t, page, "offline", pill+`.dataset.state == "offline" && `+pill+`.textContent.includes("Offline")`, 5*time.Second)
	if err := chromedp.Do(tctx, network(false)); err != nil {
		t.Fatal(err)
	}
	poll(t, page, "live after the network returns", pill+`.dataset.state == "live"`, 5*time.Second)
}

// TestBrowserHideMe: a reader who hides is no longer shown to others but
// still sees them, and stays hidden after a reload.
func TestBrowserHideMe(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	const slug = "reading-together"
	other := ts.dial(t, slug)
	page := tab(t, browser, ts.URL+"/posts/"+slug, 1024, 768, reducedMotion)
	poll(t, page, "connected", `window.readtag && window.readtag.state().connected`, 5*time.Second)
	first := eval[string](t, page, `window.readtag.state().you`)
	waitGhosts(t, other, first+"@0")

	eval[any](t, page, pillRoot+`.getElementById("hide-me").click()`)
	waitGhosts(t, other) // the visible page left
	// It stays the same reader (its resume token), only hidden.
	poll(t, page, "hidden, and still seeing the other reader", fmt.Sprintf(`(() => { const s = window.readtag.state();
		return s.connected && s.hidden && s.you == %q && s.ghosts[%q] !== undefined
			&& `+pillRoot+`.getElementById("hide-me").getAttribute("aria-pressed") == "true"
			&& `+pill+`.textContent.includes("you are hidden") })()`, first, id(other)), 5*time.Second)

	// Remembered: after a reload the page connects hidden again.
	tctx, cancel := context.WithTimeout(page, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	poll(t, page, "hidden after a reload", `window.readtag && window.readtag.state().connected && window.readtag.state().hidden`, 5*time.Second)
	// A reader who joins after the hidden page: once other sees it, the
	// hidden page's join (sent earlier, if at all) would have arrived.
	late := ts.dial(t, slug)
	waitGhosts(t, other, id(late)+"@0")
	for _, f := range other.Frames() {
		if f.Type == "join" && f.Reader.ID != id(late) && f.Reader.ID != first {
			t.Errorf("other was told of a reader while the page was hidden: %s", f.Raw)
		}
	}

	// Showing again makes the page visible to others.
	eval[any](t, page, pillRoot+`.getElementById("hide-me").click()`)
	poll(t, page, "shown again", `window.readtag.state().connected && !window.readtag.state().hidden`, 5*time.Second)
	now := eval[string](t, page, `window.readtag.state().you`)
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := other.Wait(ctx, func() bool {
		for _, g := range other.Ghosts() {
			if g.ID == now {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("other does not see the page after it shows itself again: %v", err)
	}
}

// sentPosition waits until watcher, another reader of the room, has been
// told that reader id is at want (within tol): the position the page sent,
// as the server passed it on.
func sentPosition(t *testing.T, watcher *client.Conn, id string, want, tol float64, what string) {
	t.Helper()
	at := func() (float64, bool) {
		for _, g := range watcher.Ghosts() {
			if g.ID == id {
				return g.Position, true
			}
		}
		return 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := watcher.Wait(ctx, func() bool { p, ok := at(); return ok && math.Abs(p-want) <= tol }); err != nil {
		p, ok := at()
		t.Fatalf("%s: the server has reader %s at %v (known: %v), want %v", what, id, p, ok, want)
	}
	t.Logf("%s: the page sent %v", what, want)
}

// checkEnds scrolls page p (reader id, watched by a hidden watcher) to the end of
// the page, halfway and back to the top: the end reads 1 and the top 0,
// exactly, as the page sends them; halfway, the reading line is a third
// down the window and the position is the article's fraction there.
func checkEnds(t *testing.T, p *hostPage, watcher *client.Conn, id, article string) {
	t.Helper()
	eval[any](t, p.ctx, `(() => { `+scroller+` sc.scrollTo({ top: sc.scrollHeight, behavior: "instant" }); return true })()`)
	sentPosition(t, watcher, id, 1, 0, p.url+" scrolled to the end")
	var m struct{ Line, Third, Want float64 }
	js := fmt.Sprintf(`(() => { `+scroller+` sc.scrollTo({ top: (sc.scrollHeight - sc.clientHeight) / 2, behavior: "instant" });
		const r = document.querySelector(%q).getBoundingClientRect(), third = top0 + vh / 3;
		return JSON.stringify({ Line: window.readtag.state().line, Third: third, Want: (third - r.top) / r.height }) })()`, article)
	if err := json.Unmarshal([]byte(eval[string](t, p.ctx, js)), &m); err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Line-m.Third) > 0.01 {
		t.Errorf("%s: halfway down the page the reading line is at %.2f px, want a third down what scrolls (%.2f px)", p.url, m.Line, m.Third)
	}
	sentPosition(t, watcher, id, m.Want, 0.0001, p.url+" halfway")
	eval[any](t, p.ctx, `(() => { `+scroller+` sc.scrollTo({ top: 0, behavior: "instant" }); return true })()`)
	sentPosition(t, watcher, id, 0, 0, p.url+" back at the top")
}

// readsParagraphs puts the first, a middle and the last paragraph of the
// article under a's reading line in turn: a's own marker sits at its
// line, and b (reading elsewhere) draws a's ghost beside that paragraph.
func readsParagraphs(t *testing.T, a, b *hostPage, idA, article string) {
	t.Helper()
	n := eval[int](t, a.ctx, fmt.Sprintf(`document.querySelector(%q).querySelectorAll("p").length`, article))
	if n < 3 {
		t.Fatalf("%s: %d paragraphs", a.url, n)
	}
	selfAtLine := `(() => { const e = document.querySelector("readtag-rail").shadowRoot.querySelector("#ghost-rail .ghost-self");
		const r = e.getBoundingClientRect(); return !e.hidden && Math.abs((r.top + r.bottom) / 2 - window.readtag.state().line) <= 1 })()`
	for _, i := range []int{0, n / 2, n - 1} {
		// b's own marker is kept away from a's ghost, so that they do not share a stack.
		end := 0
		if i == 0 {
			end = 1
		}
		eval[any](t, b.ctx, fmt.Sprintf(`(() => { `+scroller+` sc.scrollTo({ top: %d * sc.scrollHeight, behavior: "instant" }); return true })()`, end))
		a.scrollToParagraph(t, article, i)
		poll(t, a.ctx, fmt.Sprintf("a's own marker at its reading line (paragraph %d)", i), selfAtLine, waitLimit)
		b.seesAt(t, idA, article, i)
	}
}

// TestBrowserReadingLine: on a desktop and a phone, a post's page reads 0
// at the top of the page and 1 at its end (the frames it sends, seen by a
// Go reader), and a reader's ghost sits beside the paragraph under that
// reader's reading line: the first, one in the middle and the last.
func TestBrowserReadingLine(t *testing.T) {
	browser := newBrowser(t)
	for _, s := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(s.name, func(t *testing.T) {
			ts := startServer(t, embeddedPosts(t))
			const slug = "how-readtag-works"
			watcher := ts.dialWith(t, slug, client.Options{Hidden: true}) // not drawn: it would share a stack at 0
			url := ts.URL + "/posts/" + slug
			a := &hostPage{ctx: tab(t, browser, url, s.w, s.h, reducedMotion), url: url}
			b := &hostPage{ctx: tab(t, browser, url, s.w, s.h, reducedMotion), url: url}
			idA, _ := a.connected(t), b.connected(t)
			checkEnds(t, a, watcher, idA, "#article")
			readsParagraphs(t, a, b, idA, "#article")
		})
	}
}

// TestBrowserGhostStackAtEnd: readers who finished the post (at 1, a few
// just before it) and the page itself at the end: their stack ends at the
// article's last line, never below it in the page's footer, and no two
// tags overlap, on a desktop and a phone.
func TestBrowserGhostStackAtEnd(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	const slug = "how-readtag-works"
	for i := range 9 {
		p := 1.0
		if i%3 == 0 {
			p = 0.999
		}
		_ = ts.dial(t, slug).Scroll(p)
	}
	url := ts.URL + "/posts/" + slug
	screens := []struct {
		name string
		ctx  context.Context
	}{
		{"desktop", tab(t, browser, url, 1280, 800, reducedMotion)},
		{"phone", tab(t, browser, url, 390, 844, reducedMotion)},
	}
	for _, s := range screens {
		poll(t, s.ctx, s.name+" connected", `window.readtag && window.readtag.state().connected`, waitLimit)
		eval[any](t, s.ctx, `window.scrollTo({ top: document.scrollingElement.scrollHeight, behavior: "instant" }), true`)
	}
	for _, s := range screens {
		poll(t, s.ctx, s.name+" to see the 10 other readers at the end", `(() => { const g = Object.values(window.readtag.state().ghosts);
			return g.length == 10 && g.every((p) => p >= 0.999) })()`, waitLimit)
		r := readRail(t, s.ctx)
		checkRail(t, "the end of the post on "+s.name, r, 4)
		bottom := eval[float64](t, s.ctx, `document.getElementById("article").getBoundingClientRect().bottom`)
		for _, b := range r.Boxes {
			if b.Bottom > bottom+0.5 {
				t.Errorf("%s: %s's box %+v runs %.1f px below the article's last line (%.1f)", s.name, b.ID, b, b.Bottom-bottom, bottom)
			}
		}
		t.Logf("%s: %d tags and chip %q end %.1f px above the article's bottom", s.name, r.Shown, r.Chip, bottom-maxBottom(r))
	}
}

// maxBottom is the lowest edge of the rail's boxes.
func maxBottom(r rail) float64 {
	m := math.Inf(-1)
	for _, b := range r.Boxes {
		m = math.Max(m, b.Bottom)
	}
	return m
}
