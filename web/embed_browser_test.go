package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpfetch "github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// The pages of web/testdata/embed are written as their authors would: the
// script from https://readtag.example.com (the address docs/embed.md uses),
// which a foreign site replaces with the test server's. The article's text
// is shared: each page marks where it goes.
const (
	docsOrigin  = "https://readtag.example.com"
	articleText = "<!-- article text -->"
)

// foreignSite is another site on its own port (so a real foreign origin to
// the browser) serving pages from web/testdata/embed.
type foreignSite struct {
	srv    *httptest.Server
	Origin string // http://127.0.0.1:port
	Name   string // its site name: host:port, as --sites names it
	// pages maps a path prefix to the fixture served under it; the longest
	// prefix wins, and "/" is the default.
	pages   map[string]string
	readtag string // the readtag server's URL, set by serve
	csp     bool   // serve a strict Content-Security-Policy
}

// newForeignSite reserves a port for a site serving pages; serve starts it
// once the readtag server's address is known.
func newForeignSite(t *testing.T, pages map[string]string) *foreignSite {
	t.Helper()
	f := &foreignSite{pages: pages}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	f.Name = f.srv.Listener.Addr().String()
	f.Origin = "http://" + f.Name
	return f
}

// serve starts the site with its pages' script from readtag.
func (f *foreignSite) serve(readtag string) {
	f.readtag = readtag
	f.srv.Start()
}

// cspLine is the policy of a strict site that embeds readtag at origin: no
// inline script or style, and only readtag's origin besides its own.
func cspLine(readtag string) string {
	ws := "ws" + strings.TrimPrefix(readtag, "http")
	return fmt.Sprintf("default-src 'none'; script-src %s; connect-src %s; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'", readtag, ws)
}

func (f *foreignSite) handle(w http.ResponseWriter, r *http.Request) {
	if f.csp {
		w.Header().Set("Content-Security-Policy", cspLine(f.readtag))
	}
	switch name := path.Base(r.URL.Path); name {
	case "hostile.css", "site.css", "spa.js":
		http.ServeFile(w, r, filepath.Join("testdata", "embed", name))
		return
	}
	fixture, best := f.pages["/"], 0
	for prefix, name := range f.pages {
		if strings.HasPrefix(r.URL.Path, prefix) && len(prefix) > best {
			fixture, best = name, len(prefix)
		}
	}
	html, err := os.ReadFile(filepath.Join("testdata", "embed", fixture))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	text, err := os.ReadFile(filepath.Join("testdata", "embed", "_text.html"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page := strings.ReplaceAll(string(html), docsOrigin, f.readtag)
	page = strings.Replace(page, articleText, string(text), 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(page))
}

// startEmbed starts readtag with the foreign sites configured, then the
// sites themselves.
func startEmbed(t *testing.T, mutate func(*web.Config, *actors.Config), sites ...*foreignSite) *testServer {
	t.Helper()
	ts := startServer(t, func(w *web.Config, a *actors.Config) {
		for _, f := range sites {
			w.Sites = append(w.Sites, web.Site{Name: f.Name, Origins: []string{f.Origin}})
		}
		if mutate != nil {
			mutate(w, a)
		}
	})
	for _, f := range sites {
		f.serve(ts.URL)
	}
	return ts
}

// hostPage is a tab on a foreign page whose own layout was measured before
// readtag's script ran.
type hostPage struct {
	ctx context.Context
	url string
}

// watchPage keeps every Content-Security-Policy violation of the page,
// from before its first script, and notes DOMContentLoaded (after the
// page's deferred scripts). The test's own globals start with "__".
var watchPage = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__violations = [];
			document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
			document.addEventListener("DOMContentLoaded", () => { window.__parsed = true });`,
	})
	return err
})

// measureHost stores, in the page, every element of the host page with its
// box in page coordinates, its style and class attributes, and the window's
// own properties: what readtag's script must leave alone. The elements a
// list page gives readtag to fill (data-readtag-count) are left out.
const measureHost = `(() => {
	window.__host = [...document.querySelectorAll("body *:not([data-readtag-count])")].map((e) => {
		const r = e.getBoundingClientRect();
		return { e, box: [r.left + scrollX, r.top + scrollY, r.width, r.height], style: e.getAttribute("style"), cls: e.getAttribute("class") };
	});
	window.__globals = Object.keys(window);
	return window.__host.length })()`

// hostChanges lists how the host page differs from what measureHost
// stored: moved or resized elements, changed attributes, new globals.
const hostChanges = `(() => {
	const out = [];
	const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className == "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
	for (const h of window.__host) {
		if (!h.e.isConnected) { out.push("removed " + name(h.e)); continue; }
		const r = h.e.getBoundingClientRect();
		const box = [r.left + scrollX, r.top + scrollY, r.width, r.height];
		if (box.some((v, i) => Math.abs(v - h.box[i]) > 0.5)) out.push(name(h.e) + " moved from " + h.box.map(Math.round) + " to " + box.map(Math.round));
		if (h.e.getAttribute("style") !== h.style) out.push(name(h.e) + " style " + h.style + " -> " + h.e.getAttribute("style"));
		if (h.e.getAttribute("class") !== h.cls) out.push(name(h.e) + " class " + h.cls + " -> " + h.e.getAttribute("class"));
	}
	const before = new Set(window.__globals);
	for (const k of Object.keys(window)) if (!before.has(k) && k != "readtag" && !k.startsWith("__")) out.push("new global " + k);
	return out })()`

// openHost opens url in a new browser context (another person's browser)
// with a w×h viewport, holding readtag's script until the host page is
// parsed and measured, and then letting it run.
func openHost(t *testing.T, browser context.Context, url string, w, h int64) *hostPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h), watchPage, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdpfetch.Enable, cdpfetch.EnableParams{Patterns: []*cdpfetch.RequestPattern{{URLPattern: "*/embed.js*"}}})
		return err
	})); err != nil {
		t.Fatalf("open a tab for %s: %v", url, err)
	}
	target := chromedp.FromContext(ctx).Target
	paused := cdp.Events(ctx, target, cdpfetch.RequestPaused)
	held := make(chan cdpfetch.RequestID, 1)
	release := make(chan struct{})
	go func() {
		first := true
		for ev, err := range paused {
			if err != nil {
				return
			}
			if first {
				first = false
				held <- ev.RequestID
				select {
				case <-release:
				case <-ctx.Done():
					return
				}
			}
			_, _ = cdp.Call(ctx, target, cdpfetch.ContinueRequest, cdpfetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	loaded := make(chan error, 1)
	go func() { loaded <- chromedp.Do(ctx, chromedp.Navigate(url)) }()
	select {
	case <-held:
	case err := <-loaded:
		t.Fatalf("%s loaded without asking for readtag's script (%v)", url, err)
	case <-time.After(waitLimit):
		t.Fatalf("%s: no request for readtag's script within %v", url, waitLimit)
	}
	p := &hostPage{ctx: ctx, url: url}
	poll(t, ctx, "the host page parsed and styled", `window.__parsed === true
		&& [...document.querySelectorAll("link[rel=stylesheet]")].every((l) => l.sheet)`, waitLimit)
	if n := eval[int](t, ctx, measureHost); n == 0 {
		t.Fatalf("%s: no host elements to measure", url)
	}
	close(release)
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatalf("load %s: %v", url, err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s did not finish loading within %v", url, waitLimit)
	}
	return p
}

// connected waits for the page's readtag to be in a room.
func (p *hostPage) connected(t *testing.T) string {
	t.Helper()
	poll(t, p.ctx, "readtag connected on "+p.url, `!!window.readtag && window.readtag.state().connected && !!window.readtag.state().you`, waitLimit)
	return eval[string](t, p.ctx, `window.readtag.state().you`)
}

// moved waits for the page's readtag to be in the room of path (after a
// single-page navigation) as a reader other than was.
func (p *hostPage) moved(t *testing.T, path, was string) string {
	t.Helper()
	poll(t, p.ctx, "readtag in the room of "+path, fmt.Sprintf(`(() => { const s = window.readtag.state();
		return s.connected && !!s.you && s.you != %q && new URL(s.page).pathname == %q })()`, was, path), waitLimit)
	return eval[string](t, p.ctx, `window.readtag.state().you`)
}

// unchanged fails the test if readtag's script moved, resized or restyled
// any element of the host page, or left globals other than window.readtag,
// or (on a page with a policy) broke the page's Content-Security-Policy.
func (p *hostPage) unchanged(t *testing.T) {
	t.Helper()
	eval[any](t, p.ctx, `window.scrollTo(0, 0), true`)
	if changes := eval[[]string](t, p.ctx, hostChanges); len(changes) > 0 {
		t.Errorf("%s: readtag changed the host page: %s", p.url, strings.Join(changes, "; "))
	}
	if v := eval[[]string](t, p.ctx, `window.__violations`); len(v) > 0 {
		t.Errorf("%s: Content-Security-Policy violations: %s", p.url, strings.Join(v, "; "))
	}
}

// scrollToParagraph puts the page's reading line on the first line of the
// n-th paragraph of the article (selector).
func (p *hostPage) scrollToParagraph(t *testing.T, article string, n int) {
	t.Helper()
	eval[any](t, p.ctx, fmt.Sprintf(`(() => { const r = document.querySelector(%q).querySelectorAll("p")[%d].getBoundingClientRect();
		return %s(r.top + Math.min(12, r.height / 2)) })()`, article, n, lineTo))
}

// ghostEl is the page's ghost of reader id, inside the shadow root of
// readtag's rail (null when there is none).
func ghostEl(id string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector("readtag-rail");
		return r && r.shadowRoot ? r.shadowRoot.querySelector('.ghost[data-id=%q]:not([hidden])') : null })()`, id)
}

// ghostBox is where the page draws reader id's ghost, in page coordinates
// (null when it draws none).
func ghostBox(id string) string {
	return fmt.Sprintf(`(() => { const g = %s;
		if (!g) return null;
		const r = g.getBoundingClientRect();
		return r.height > 0 ? { left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX, bottom: r.bottom + scrollY } : null })()`, ghostEl(id))
}

type box struct{ Left, Top, Right, Bottom float64 }

// seesAt waits until p draws reader id's ghost beside the n-th paragraph
// of the article: the middle of the ghost (its point) within that
// paragraph's first lines (the reader's reading line is on its first
// line), and the ghost inside the window's width, not over the paragraph's
// text.
func (p *hostPage) seesAt(t *testing.T, id, article string, n int) {
	t.Helper()
	para := fmt.Sprintf(`(() => { const r = document.querySelector(%q).querySelectorAll("p")[%d].getBoundingClientRect();
		return { left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX, bottom: r.bottom + scrollY } })()`, article, n)
	check := fmt.Sprintf(`(() => { const g = %s, p = %s, mid = g && (g.top + g.bottom) / 2;
		return !!g && mid >= p.top && mid <= p.top + Math.min(24, p.bottom - p.top) })()`, ghostBox(id), para)
	tctx, cancel := context.WithTimeout(p.ctx, waitLimit)
	_, err := chromedp.Run(tctx, chromedp.Poll[bool](check, chromedp.WithPollingInterval(20*time.Millisecond)))
	cancel()
	g := eval[*box](t, p.ctx, ghostBox(id))
	pb := eval[box](t, p.ctx, para)
	if err != nil || g == nil {
		t.Fatalf("%s: ghost %s not drawn beside paragraph %d (%+v): ghost at %+v", p.url, id, n, pb, g)
	}
	vw := eval[float64](t, p.ctx, `document.documentElement.clientWidth`)
	if g.Left < 0 || g.Right > vw {
		t.Errorf("%s: ghost %s drawn outside the window: %+v (window %g px wide)", p.url, id, *g, vw)
	}
	t.Logf("%s: ghost %s at y=%.0f beside paragraph %d (y=%.0f..%.0f)", p.url, id, g.Top, n, pb.Top, pb.Bottom)
}

// lost waits until p draws no ghost for id and no longer counts it.
func (p *hostPage) lost(t *testing.T, id string) {
	t.Helper()
	poll(t, p.ctx, "ghost "+id+" to leave "+p.url, fmt.Sprintf(`%s === null && window.readtag.state().ghosts[%q] === undefined`, ghostBox(id), id), waitLimit)
}

// readTogether is the proof each foreign page must pass: readers in
// separate browsers see each other beside the paragraph they read, the
// ghost of a closed tab leaves, and the host page is left as it was.
func readTogether(t *testing.T, browser context.Context, url, article string, w, h int64) (a, b *hostPage) {
	t.Helper()
	a = openHost(t, browser, url, w, h)
	b = openHost(t, browser, url, w, h)
	c := openHost(t, browser, url, w, h)
	idA, idB, idC := a.connected(t), b.connected(t), c.connected(t)

	a.scrollToParagraph(t, article, 6)
	b.scrollToParagraph(t, article, 1)
	c.scrollToParagraph(t, article, 3)
	b.seesAt(t, idA, article, 6)
	b.seesAt(t, idC, article, 3)
	a.seesAt(t, idB, article, 1)
	a.seesAt(t, idC, article, 3)
	c.seesAt(t, idA, article, 6)
	c.seesAt(t, idB, article, 1)

	t.Logf("%s at %dx%d: the rail is %s", url, w, h, eval[string](t, a.ctx, `(() => { const s = window.readtag.state();
		return (s.wide ? "wide, labelled" : "narrow, dots") + ", on the " + s.side })()`))
	chromedp.Cancel(c.ctx)
	a.lost(t, idC)
	b.lost(t, idC)
	for _, p := range []*hostPage{a, b} {
		p.unchanged(t)
	}
	return a, b
}

func TestBrowserEmbedPlain(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "plain.html"})
	startEmbed(t, nil, site)
	a, b := readTogether(t, browser, site.Origin+"/posts/reading-together/", "article", 1280, 800)

	// The picture for docs/embed.md and the README: the top of a foreign
	// page, with two other readers' ghosts in its margin.
	d := openHost(t, browser, site.Origin+"/posts/reading-together", 1280, 800)
	idB, idD := eval[string](t, b.ctx, `window.readtag.state().you`), d.connected(t)
	b.scrollToParagraph(t, "article", 1)
	d.scrollToParagraph(t, "article", 3)
	eval[any](t, a.ctx, `window.scrollTo(0, 0), true`)
	a.seesAt(t, idB, "article", 1)
	a.seesAt(t, idD, "article", 3)
	time.Sleep(400 * time.Millisecond) // let the move transition finish, for the picture only
	screenshot(t, a.ctx, "embed-ghosts.png")
}

func TestBrowserEmbedHostileCSS(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "hostile.html"})
	startEmbed(t, nil, site)
	a, _ := readTogether(t, browser, site.Origin+"/posts/reading-together", "article", 1280, 800)
	// The host's `* { all: unset }` does not reach into readtag's ghosts:
	// they keep their own size and font.
	if ok := eval[bool](t, a.ctx, `(() => { const s = window.readtag.state(), id = Object.keys(s.ghosts)[0];
		const g = document.querySelector("readtag-rail").shadowRoot.querySelector('.ghost[data-id="' + id + '"]'); const cs = getComputedStyle(g);
		return cs.display != "inline" && g.getBoundingClientRect().width > 4 && g.getBoundingClientRect().width < 400 })()`); !ok {
		t.Error("the hostile stylesheet reshaped readtag's ghosts")
	}
}

func TestBrowserEmbedStrictCSP(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "csp.html"})
	site.csp = true
	startEmbed(t, nil, site)
	readTogether(t, browser, site.Origin+"/posts/reading-together", "article", 1280, 800)
}

func TestBrowserEmbedPhone(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "plain.html"})
	startEmbed(t, nil, site)
	a, b := readTogether(t, browser, site.Origin+"/posts/reading-together", "article", 390, 844)
	// The picture: the top of the page, another reader a paragraph down.
	idB := eval[string](t, b.ctx, `window.readtag.state().you`)
	b.scrollToParagraph(t, "article", 1)
	eval[any](t, a.ctx, `window.scrollTo(0, 0), true`)
	a.seesAt(t, idB, "article", 1)
	time.Sleep(400 * time.Millisecond) // let the move transition finish, for the picture only
	screenshot(t, a.ctx, "embed-phone.png")
}

// TestBrowserEmbedSPA: a single-page app that moves between two posts with
// pushState takes its reader from one room to the other, and back on
// popstate.
func TestBrowserEmbedSPA(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "spa.html"})
	startEmbed(t, nil, site)
	one, two := site.Origin+"/spa/one", site.Origin+"/spa/two"
	a := openHost(t, browser, one, 1280, 800)
	b := openHost(t, browser, one, 1280, 800)
	c := openHost(t, browser, two, 1280, 800)
	idA, idB, idC := a.connected(t), b.connected(t), c.connected(t)
	c.scrollToParagraph(t, "article", 2)
	a.scrollToParagraph(t, "article", 4)
	b.seesAt(t, idA, "article", 4)
	if n := eval[int](t, c.ctx, `Object.keys(window.readtag.state().ghosts).length`); n != 0 {
		t.Errorf("post two's reader sees %d ghosts of post one", n)
	}

	// a follows the app's link to post two: it leaves b's room and joins c's.
	eval[any](t, a.ctx, `document.querySelector('a[href="/spa/two"]').click(), true`)
	poll(t, a.ctx, "a on post two", `location.pathname == "/spa/two"`, waitLimit)
	b.lost(t, idA)
	idA2 := a.moved(t, "/spa/two", idA)
	a.scrollToParagraph(t, "article", 3)
	c.seesAt(t, idA2, "article", 3)
	a.seesAt(t, idC, "article", 2)
	if g := eval[map[string]float64](t, a.ctx, `window.readtag.state().ghosts`); len(g) != 1 {
		t.Errorf("a on post two sees %v, want only c", g)
	}

	// Back (popstate): a leaves c's room and is in b's again.
	eval[any](t, a.ctx, `history.back(), true`)
	poll(t, a.ctx, "a back on post one", `location.pathname == "/spa/one"`, waitLimit)
	c.lost(t, idA2)
	idA3 := a.moved(t, "/spa/one", idA2)
	poll(t, b.ctx, "a back in post one's room", fmt.Sprintf(`window.readtag.state().ghosts[%q] !== undefined`, idA3), waitLimit)
	poll(t, a.ctx, "b seen again from a", fmt.Sprintf(`window.readtag.state().ghosts[%q] !== undefined`, idB), waitLimit)
	a.scrollToParagraph(t, "article", 5)
	b.seesAt(t, idA3, "article", 5)
	for _, p := range []*hostPage{a, b, c} {
		p.unchanged(t)
	}
	chromedp.Cancel(a.ctx)
	b.lost(t, idA3)
}

// countOf is the text of a list page's count element for path.
func countOf(path string) string {
	return fmt.Sprintf(`document.querySelector('[data-readtag-count=%q]').textContent.trim()`, path)
}

// TestBrowserEmbedCounts: a list page's data-readtag-count elements show
// how many read each of the site's pages, and follow arrivals and
// departures; the list page itself is in no room.
func TestBrowserEmbedCounts(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "list.html", "/posts/": "plain.html"})
	startEmbed(t, nil, site)
	list := openHost(t, browser, site.Origin+"/", 1280, 800)
	poll(t, list.ctx, "the list's script", `!!window.readtag`, waitLimit)

	a := openHost(t, browser, site.Origin+"/posts/reading-together/", 1280, 800)
	b := openHost(t, browser, site.Origin+"/posts/reading-together?utm_source=feed", 1280, 800)
	c := openHost(t, browser, site.Origin+"/posts/second-post", 1280, 800)
	idA, idB := a.connected(t), b.connected(t)
	c.connected(t)
	// The two addresses of one post (a trailing slash, a query) are one room.
	a.scrollToParagraph(t, "article", 5)
	b.scrollToParagraph(t, "article", 2)
	a.seesAt(t, idB, "article", 2)
	b.seesAt(t, idA, "article", 5)
	took := poll(t, list.ctx, "2 on reading-together, 1 on second-post", fmt.Sprintf(`/\b2\b/.test(%s) && /\b1\b/.test(%s) && %s == ""`,
		countOf("/posts/reading-together"), countOf("/posts/second-post/"), countOf("/posts/nobody-reads-this")), waitLimit)
	t.Logf("the list showed its readers %v after they joined", took)

	chromedp.Cancel(b.ctx)
	a.lost(t, idB)
	poll(t, list.ctx, "1 on reading-together", fmt.Sprintf(`/\b1\b/.test(%s)`, countOf("/posts/reading-together")), waitLimit)
	chromedp.Cancel(c.ctx)
	poll(t, list.ctx, "none on second-post", countOf("/posts/second-post/")+` == ""`, waitLimit)
	if g := eval[map[string]float64](t, a.ctx, `window.readtag.state().ghosts`); len(g) != 0 {
		t.Errorf("a, alone on its post with the list page open, sees %v", g)
	}
	list.unchanged(t)
	a.unchanged(t)
}

// generators are pages shaped like each generator's real output, each with
// the script tag of its recipe in docs/embed.md, and the element holding
// its article's paragraphs.
// Ghost's is pictured in docs/embed.md (shot).
var generators = []struct{ name, fixture, path, paragraphs, shot string }{
	{"Hugo", "hugo.html", "/posts/reading-together/", ".post-content", ""},
	{"Jekyll", "jekyll.html", "/jekyll/update/2026/12/01/reading-together.html", ".post-content", ""},
	{"Eleventy", "eleventy.html", "/blog/reading-together/", "main", ""},
	{"Ghost", "ghost.html", "/reading-together/", ".gh-content", "embed-ghost.png"},
	{"WordPress", "wordpress.html", "/2026/12/01/reading-together/", ".entry-content", ""},
	{"Docusaurus", "docusaurus.html", "/docs/reading-together", ".theme-doc-markdown", ""},
	{"MkDocs", "mkdocs.html", "/reading-together/", ".md-typeset", ""},
}

// TestBrowserEmbedGenerators tries each recipe of docs/embed.md on a page
// shaped like its generator's output, each generator its own site.
func TestBrowserEmbedGenerators(t *testing.T) {
	browser := newBrowser(t)
	sites := make([]*foreignSite, len(generators))
	for i, g := range generators {
		sites[i] = newForeignSite(t, map[string]string{"/": g.fixture})
	}
	startEmbed(t, nil, sites...)
	for i, g := range generators {
		t.Run(g.name, func(t *testing.T) {
			a, b := readTogether(t, browser, sites[i].Origin+g.path, g.paragraphs, 1280, 800)
			if g.shot == "" {
				return
			}
			// The picture: the top of the page, the other reader two
			// paragraphs down.
			idB := eval[string](t, b.ctx, `window.readtag.state().you`)
			b.scrollToParagraph(t, g.paragraphs, 2)
			a.seesAt(t, idB, g.paragraphs, 2)
			time.Sleep(400 * time.Millisecond) // let the move transition finish, for the picture only
			screenshot(t, a.ctx, g.shot)
		})
	}
}

// snippet is the readtag script tag of a fixture.
func snippet(t *testing.T, fixture string) string {
	t.Helper()
	html, err := os.ReadFile(filepath.Join("testdata", "embed", fixture))
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	i := strings.Index(s, `<script src="`+docsOrigin+`/embed.js"`)
	if i < 0 {
		t.Fatalf("%s has no readtag script tag", fixture)
	}
	j := strings.Index(s[i:], "</script>")
	return s[i : i+j+len("</script>")]
}

// TestEmbedRecipesInDocs: each generator's recipe in docs/embed.md shows
// the very tag its fixture page (tried by TestBrowserEmbedGenerators)
// carries.
func TestEmbedRecipesInDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "embed.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range generators {
		tag := snippet(t, g.fixture)
		i := strings.Index(string(doc), "\n### "+g.name)
		if i < 0 {
			t.Errorf("docs/embed.md has no recipe for %s", g.name)
			continue
		}
		section := string(doc)[i+1:]
		if j := strings.Index(section, "\n### "); j >= 0 {
			section = section[:j]
		}
		if !strings.Contains(section, tag) {
			t.Errorf("docs/embed.md's %s recipe does not show the tag its test page carries:\n%s", g.name, tag)
		}
	}
}

// embedURL is the /ws/embed address of page.
func (ts *testServer) embedURL(page string) string {
	return ts.URL + "/ws/embed?page=" + url.QueryEscape(page)
}

// embedUpgrade opens /ws/embed for page as a page of origin would, and
// returns the socket, or the refusal's status and Retry-After.
func (ts *testServer) embedUpgrade(t *testing.T, origin, page string) (ws *websocket.Conn, status int, retryAfter string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(ts.embedURL(page), "http"), http.Header{"Origin": {origin}})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", page, err)
		}
		return nil, resp.StatusCode, resp.Header.Get("Retry-After")
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws, http.StatusSwitchingProtocols, ""
}

// refusal is the status and whole body of a refused upgrade (the
// WebSocket dialer keeps only the body's first kilobyte).
func (ts *testServer) refusal(t *testing.T, origin, page string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.embedURL(page), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Origin": origin, "Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("%s from %s was not refused", page, origin)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// tryEmbedSocket opens, from inside the page, a socket to readtag's
// /ws/embed for page, and reports "open" or "refused" in
// window.__attempt: a page cannot choose the Origin its browser sends.
func tryEmbedSocket(ts *testServer, page string) string {
	return fmt.Sprintf(`(() => { window.__attempt = "";
		const s = new WebSocket(%q + "/ws/embed?page=" + encodeURIComponent(%q));
		s.onopen = () => { window.__attempt = "open"; s.close() };
		s.onclose = () => { if (!window.__attempt) window.__attempt = "refused" };
		return true })()`, "ws"+strings.TrimPrefix(ts.URL, "http"), page)
}

// TestBrowserEmbedRefused: a page on an origin that is not a site of the
// server gets no socket (and no count), and a page of one site cannot open
// a room of another, from its browser or from a forged Origin.
func TestBrowserEmbedRefused(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "plain.html"})
	other := newForeignSite(t, map[string]string{"/": "plain.html"})
	stranger := newForeignSite(t, map[string]string{"/": "plain.html"})
	ts := startEmbed(t, nil, site, other)
	stranger.serve(ts.URL)

	// The stranger's page loads the script, which asks for a socket, and
	// the server refuses it at the upgrade: no reader, no room.
	p := openHost(t, browser, stranger.Origin+"/posts/reading-together", 1280, 800)
	refusal := fmt.Sprintf(`"msg":"embed origin refused","origin":%q`, stranger.Origin)
	testutil.Eventually(t, "the server to refuse the stranger's socket", func() bool {
		return strings.Contains(ts.Logs.String(), refusal)
	})
	if _, body := ts.get(t, "/metrics"); !strings.Contains(body, "readtag_joins_total 0\n") || !strings.Contains(body, "readtag_readers 0\n") {
		t.Errorf("a page of an origin that is no site got a socket:\n%s", grepLines(body, "readtag_joins_total", "readtag_readers "))
	}
	if eval[bool](t, p.ctx, `window.readtag.state().connected`) {
		t.Error("the stranger's page says it is connected")
	}
	p.unchanged(t)

	// A page of site, in a browser, asks for a room of other's page: the
	// browser sends site's Origin, and the server refuses.
	a := openHost(t, browser, site.Origin+"/posts/reading-together", 1280, 800)
	a.connected(t)
	eval[bool](t, a.ctx, tryEmbedSocket(ts, other.Origin+"/posts/reading-together"))
	poll(t, a.ctx, "the attempt to end", `window.__attempt != ""`, waitLimit)
	if got := eval[string](t, a.ctx, `window.__attempt`); got != "refused" {
		t.Errorf("a page of %s opened a room of %s: %s", site.Origin, other.Origin, got)
	}
	if n := ts.Web.Rooms(other.Name); n != 0 {
		t.Errorf("%s has %d rooms, none of its pages open", other.Name, n)
	}
	// The same with any Origin a client can forge: 403, with the reason.
	for _, c := range []struct{ origin, page string }{
		{site.Origin, other.Origin + "/posts/reading-together"},
		{stranger.Origin, stranger.Origin + "/posts/reading-together"},
		{stranger.Origin, site.Origin + "/posts/reading-together"},
	} {
		if _, status, _ := ts.embedUpgrade(t, c.origin, c.page); status != http.StatusForbidden {
			t.Errorf("Origin %s, page %s: status %d, want 403", c.origin, c.page, status)
		}
	}
	if n := ts.Web.Rooms(other.Name); n != 0 {
		t.Errorf("%s has %d rooms after the forged attempts", other.Name, n)
	}
}

// grepLines keeps the lines of s that start with one of prefixes.
func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestBrowserEmbedRoomCap floods readtag with readers of distinct pages of
// one site: beyond the site's room cap a new page is refused with 503, a
// reason and Retry-After, while the site's open pages and another site's
// readers (in browsers) are served as before; the places come back when
// the flood leaves.
func TestBrowserEmbedRoomCap(t *testing.T) {
	const roomCap = 20
	browser := newBrowser(t)
	flooder := newForeignSite(t, map[string]string{"/": "plain.html"})
	site := newForeignSite(t, map[string]string{"/": "plain.html"})
	ts := startEmbed(t, func(w *web.Config, _ *actors.Config) { w.MaxRoomsPerSite = roomCap }, flooder, site)

	var flood []*websocket.Conn
	refused := 0
	for i := range 5 * roomCap {
		ws, status, after := ts.embedUpgrade(t, flooder.Origin, fmt.Sprintf("%s/flood/%d", flooder.Origin, i))
		switch {
		case ws != nil:
			flood = append(flood, ws)
		case status == http.StatusServiceUnavailable && after != "":
			refused++
		default:
			t.Fatalf("page %d of the flood: status %d, Retry-After %q", i, status, after)
		}
	}
	if len(flood) != roomCap || refused != 4*roomCap {
		t.Fatalf("%d pages of one site got rooms and %d were refused; want %d and %d", len(flood), refused, roomCap, 4*roomCap)
	}
	if status, body := ts.refusal(t, flooder.Origin, flooder.Origin+"/one-more"); status != http.StatusServiceUnavailable || !strings.Contains(body, "--max-rooms-per-site") {
		t.Errorf("a page beyond the cap: status %d, and the body does not name the cap:\n%s", status, body)
	}
	if n := ts.Web.Rooms(flooder.Name); n != roomCap {
		t.Errorf("the flooding site holds %d rooms, want %d", n, roomCap)
	}
	// A page the site already has open takes more readers.
	if ws, status, _ := ts.embedUpgrade(t, flooder.Origin, flooder.Origin+"/flood/0"); ws == nil {
		t.Errorf("a second reader of an open page: status %d", status)
	}

	// Another site's readers read together as ever, in browsers.
	a := openHost(t, browser, site.Origin+"/posts/reading-together", 1280, 800)
	b := openHost(t, browser, site.Origin+"/posts/reading-together", 1280, 800)
	idA, _ := a.connected(t), b.connected(t)
	a.scrollToParagraph(t, "article", 4)
	b.seesAt(t, idA, "article", 4)

	// The flood leaves; its rooms vanish, and the site may open new pages.
	for _, ws := range flood {
		_ = ws.Close()
	}
	testutil.Eventually(t, "the flood's rooms to vanish", func() bool { return ts.Web.Rooms(flooder.Name) <= 1 })
	if ws, status, _ := ts.embedUpgrade(t, flooder.Origin, flooder.Origin+"/after-the-flood"); ws == nil {
		t.Errorf("a new page after the flood: status %d", status)
	}
}

// TestBrowserEmbedExplicitID: pages that name their room (data-page="an
// id") share it whatever their addresses, and a page of the site without
// the id is not in it.
func TestBrowserEmbedExplicitID(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "explicit-id.html", "/plain/": "plain.html"})
	startEmbed(t, nil, site)
	a := openHost(t, browser, site.Origin+"/2026/reading-together", 1280, 800)
	b := openHost(t, browser, site.Origin+"/print/reading-together.html", 1280, 800)
	c := openHost(t, browser, site.Origin+"/plain/2026/reading-together", 1280, 800)
	idA, _, _ := a.connected(t), b.connected(t), c.connected(t)
	if id := eval[string](t, a.ctx, `window.readtag.state().id`); id != "essays/reading-together" {
		t.Errorf("the page's room id is %q", id)
	}
	a.scrollToParagraph(t, "article", 5)
	b.seesAt(t, idA, "article", 5)
	if g := eval[map[string]float64](t, c.ctx, `window.readtag.state().ghosts`); len(g) != 0 {
		t.Errorf("a page without the id sees %v", g)
	}
	a.unchanged(t)
}

// TestBrowserEmbedHeadScript: the tag in <head> without async (so it runs
// before there is a body) on a page whose window.readtag is already its
// own element (id="readtag"): readtag still starts, and the page's
// element is left as it was.
func TestBrowserEmbedHeadScript(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "head-script.html"})
	startEmbed(t, nil, site)
	url := site.Origin + "/posts/reading-together"
	var pages []*hostPage
	var ids []string
	for range 2 {
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(url)); err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		p := &hostPage{ctx: ctx, url: url}
		pages = append(pages, p)
		ids = append(ids, p.connected(t))
	}
	pages[1].scrollToParagraph(t, "article", 2)
	pages[0].seesAt(t, ids[1], "article", 2)
	pages[0].scrollToParagraph(t, "article", 1)
	pages[1].seesAt(t, ids[0], "article", 1)
	if !eval[bool](t, pages[0].ctx, `document.getElementById("readtag").tagName === "META" && document.querySelector("readtag-rail").parentNode === document.body`) {
		t.Error("the page's own #readtag element or readtag's rail is not where it belongs")
	}
}

// TestBrowserEmbedHostileGlobals: a page that defined custom elements of
// readtag's own names (<readtag-rail>, <readtag-counter>) and a page whose
// global readtag is its own, readers of one page (data-page): both show
// the other's ghost, and each page keeps what it defined.
func TestBrowserEmbedHostileGlobals(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/ce/": "custom-elements.html", "/global/": "own-global.html"})
	startEmbed(t, nil, site)
	ce := openHost(t, browser, site.Origin+"/ce/post", 1280, 800)
	idCE := ce.connected(t)
	own := openHost(t, browser, site.Origin+"/global/post", 1280, 800)
	poll(t, own.ctx, "the ghost of the custom elements page's reader", ghostEl(idCE)+" !== null", waitLimit)
	poll(t, ce.ctx, "the ghost of the own-global page's reader", `Object.keys(window.readtag.state().ghosts).length === 1`, waitLimit)
	if !eval[bool](t, own.ctx, `readtag === "the page's own"`) {
		t.Error("readtag replaced the page's own global readtag")
	}
	if !eval[bool](t, ce.ctx, `document.querySelectorAll("readtag-rail, readtag-counter").length === 0 && customElements.get("readtag-rail") !== undefined`) {
		t.Error("readtag used the page's own readtag-rail element")
	}
	ce.unchanged(t)
	own.unchanged(t)
}

// TestBrowserEmbedReadingLine: on foreign pages, a plain one and an app
// whose article scrolls in a box under a fixed bar, on a desktop and a
// phone, the end of the page reads 1 and its top 0 (the frames the page
// sends, seen by a hidden Go reader of the page's room), and a reader's
// ghost sits beside the paragraph under that reader's reading line.
func TestBrowserEmbedReadingLine(t *testing.T) {
	browser := newBrowser(t)
	site := newForeignSite(t, map[string]string{"/": "plain.html", "/app/": "app-shell.html"})
	ts := startEmbed(t, nil, site)
	for _, s := range []struct {
		name, path string
		w, h       int64
	}{
		{"plain/desktop", "/posts/reading-together", 1280, 800},
		{"plain/phone", "/posts/reading-together", 390, 844},
		{"app/desktop", "/app/reading-together", 1280, 800},
		{"app/phone", "/app/reading-together", 390, 844},
	} {
		t.Run(s.name, func(t *testing.T) {
			a := openHost(t, browser, site.Origin+s.path, s.w, s.h)
			b := openHost(t, browser, site.Origin+s.path, s.w, s.h)
			idA, _ := a.connected(t), b.connected(t)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			watcher, err := client.Dial(ctx, client.EmbedURL(ts.URL, eval[string](t, a.ctx, `window.readtag.state().page`), ""),
				client.Options{Origin: site.Origin, Hidden: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = watcher.Kill() })
			checkEnds(t, a, watcher, idA, "article")
			readsParagraphs(t, a, b, idA, "article")
			eval[any](t, a.ctx, `(() => { `+scroller+` sc.scrollTo({ top: 0, behavior: "instant" }); return true })()`)
			a.unchanged(t)
		})
	}
}
