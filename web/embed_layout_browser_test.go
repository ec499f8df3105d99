package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBrowserEmbedRailPlacement loads embed.js into pages of another origin
// shaped to mislead it, and checks where it puts the rail (the socket is not
// needed: the rail is placed before any reader arrives).
func TestBrowserEmbedRailPlacement(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, nil)
	text := strings.Repeat("<p>Words to read, line after line, for long enough to scroll through.</p>\n", 40)
	page := func(style, body string) string {
		return `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;font:18px/1.6 serif}` + style +
			`</style></head><body>` + body + `<script src="` + ts.URL + `/embed.js" async></script></body></html>`
	}
	pages := map[string]string{
		// A <main> spanning the page comes before the <article> in the
		// document; the article is the text.
		"/main-first": page(`article{max-width:600px;margin:0 auto}`, `<main><article>`+text+`</article></main>`),
		// The article is a full-width grid whose blocks sit in a middle
		// column (Ghost's .gh-canvas), one image across the whole width.
		"/grid": page(`article{display:grid;grid-template-columns:1fr min(600px,100%) 1fr}article>*{grid-column:2}article>.wide{grid-column:1/-1;height:40px;background:#ccc}`,
			`<article><div class="wide"></div>`+text+`</article>`),
		"/phone": page(`body{margin:0 24px}`, `<article>`+text+`</article>`),
		// A navigation sidebar fills the left margin: the rail goes right.
		"/sidebar": page(`.wrap{display:flex}aside{width:300px;flex:none;background:#eee}article{width:600px;flex:none}`,
			`<div class="wrap"><aside><nav>`+strings.Repeat("<p>A link</p>", 60)+`</nav></aside><article>`+text+`</article></div>`),
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(site.Close)

	// The rail's box, the text column's edges (the first paragraph's) and
	// the side the script chose, once it has run.
	const measure = `(() => { const h = document.querySelector("readtag-rail");
		const r = h.shadowRoot.querySelector(".rail").getBoundingClientRect(), p = document.querySelector("article p").getBoundingClientRect();
		return JSON.stringify({ side: window.readtag.state().side, wide: window.readtag.state().wide,
			left: r.left, right: r.right, width: r.width, textLeft: p.left, textRight: p.right, vw: document.documentElement.clientWidth }) })()`
	for path, want := range map[string]string{"/main-first": "left", "/grid": "left", "/sidebar": "right"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			ctx := tab(t, browser, site.URL+path, 1280, 800)
			poll(t, ctx, "embed.js to place its rail", `!!window.readtag && !!document.querySelector("readtag-rail") && window.readtag.state().side != ""`, waitLimit)
			var m struct {
				Side                                        string
				Wide                                        bool
				Left, Right, Width, TextLeft, TextRight, VW float64
			}
			if err := json.Unmarshal([]byte(eval[string](t, ctx, measure)), &m); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", path, m)
			if m.Side != want || !m.Wide || m.Width <= 0 {
				t.Fatalf("%s: rail on side %q (wide %v, %g px), want a wide rail on the %s", path, m.Side, m.Wide, m.Width, want)
			}
			if want == "left" && (m.Left < 0 || m.Right > m.TextLeft) || want == "right" && (m.Left < m.TextRight || m.Right > m.VW) {
				t.Errorf("%s: rail %g..%g px is not in the %s margin (text %g..%g px, window %g px)", path, m.Left, m.Right, want, m.TextLeft, m.TextRight, m.VW)
			}
		})
	}

	// A phone: a 24 px margin holds an edge rail of dots and, closed, the
	// default pill, neither over the text; focus opens the pill in full.
	t.Run("phone", func(t *testing.T) {
		ctx := tab(t, browser, site.URL+"/phone", 390, 844)
		poll(t, ctx, "embed.js to place its rail and pill", `!!window.readtag && window.readtag.state().side == "left"
			&& !!document.querySelector("readtag-rail").shadowRoot.querySelector(".floating .presence:not([hidden])")`, waitLimit)
		var m struct {
			Rail, Pill, Text struct{ Left, Right float64 }
			Open             bool
			Label            string
		}
		const pillJS = `(() => { const root = document.querySelector("readtag-rail").shadowRoot, bar = root.querySelector(".floating");
			const box = (e) => { const r = e.getBoundingClientRect(); return { Left: r.left, Right: r.right } };
			const closed = { Rail: box(root.querySelector(".rail")), Pill: box(bar), Text: box(document.querySelector("article p")) };
			bar.focus();
			const hide = root.getElementById("hide-me");
			return JSON.stringify({ ...closed, Open: hide.getClientRects().length > 0 && bar.getBoundingClientRect().width > closed.Pill.Right - closed.Pill.Left,
				Label: root.querySelector(".presence-text").textContent }) })()`
		if err := json.Unmarshal([]byte(eval[string](t, ctx, pillJS)), &m); err != nil {
			t.Fatal(err)
		}
		t.Logf("phone: %+v", m)
		if m.Rail.Left < 0 || m.Rail.Right > m.Text.Left || m.Pill.Left < 0 || m.Pill.Right > m.Text.Left {
			t.Errorf("phone: rail %+v or closed pill %+v over the text (from %g px)", m.Rail, m.Pill, m.Text.Left)
		}
		if !m.Open || m.Label == "" {
			t.Errorf("phone: the focused pill does not open (open %v, label %q)", m.Open, m.Label)
		}
	})
}
