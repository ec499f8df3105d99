package web_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/pagekey"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// The sites of the embed tests: blog has two origins (apex and www).
const (
	blogOrigin  = "https://blog.example"
	blogWWW     = "https://www.blog.example"
	otherOrigin = "https://other.example"
)

func withSites(more func(*web.Config, *actors.Config)) func(*web.Config, *actors.Config) {
	return func(w *web.Config, a *actors.Config) {
		w.Sites = []web.Site{{Name: "blog", Origins: []string{blogOrigin, blogWWW}}, {Name: "other.example", Origins: []string{otherOrigin}}}
		if more != nil {
			more(w, a)
		}
	}
}

// dialEmbed opens /ws/embed for page (and id) from a page of origin.
func (ts *testServer) dialEmbed(ctx context.Context, origin, page, id string) (*client.Conn, error) {
	return client.Dial(ctx, client.EmbedURL(ts.URL, page, id), client.Options{Origin: origin, KeepFrames: true})
}

// embed is dialEmbed that must succeed, waiting for the welcome.
func (ts *testServer) embed(t testing.TB, origin, page, id string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := ts.dialEmbed(ctx, origin, page, id)
	if err != nil {
		t.Fatalf("embed %s from %s: %v", page, origin, err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	if err := c.Wait(ctx, c.Welcomed); err != nil {
		t.Fatalf("welcome on %s: %v", page, err)
	}
	return c
}

// refused dials /ws/embed and returns the refusal's status (0: admitted).
func (ts *testServer) refused(t testing.TB, origin, rawQuery string) (int, http.Header) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws/embed?"+rawQuery, h)
	if err == nil {
		_ = ws.Close()
		return 0, nil
	}
	if resp == nil {
		t.Fatalf("dial /ws/embed?%s: %v", rawQuery, err)
	}
	return resp.StatusCode, resp.Header
}

func TestEmbedReadersSeeEachOther(t *testing.T) {
	ts := startServer(t, withSites(nil))
	// One page, spelled three ways, from both of the site's origins.
	a := ts.embed(t, blogOrigin, "https://blog.example/posts/hello", "")
	b := ts.embed(t, blogWWW, "HTTPS://Blog.Example:443/posts/hello/?utm_source=x#top", "")
	c := ts.embed(t, blogOrigin, "https://blog.example/posts/./hello", "")
	waitGhosts(t, a, id(b)+"@0", id(c)+"@0")
	if err := b.Scroll(0.5); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, a, id(b)+"@0.5", id(c)+"@0")
	// An explicit id is its own room, whatever the URL; a page of the
	// www origin is a page of the same site.
	x := ts.embed(t, blogOrigin, "https://blog.example/a", "some-id")
	y := ts.embed(t, blogWWW, "https://www.blog.example/b?x=1", "some-id")
	waitGhosts(t, x, id(y)+"@0")
	// Another site's page of the same path is another room.
	o := ts.embed(t, otherOrigin, "https://other.example/posts/hello", "")
	waitGhosts(t, o)
	_ = c.Close()
	waitGhosts(t, a, id(b)+"@0.5")
	// A hidden reader (&hidden=1) sees the page's readers and is not shown.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	h, err := client.Dial(ctx, client.EmbedURL(ts.URL, "https://blog.example/posts/hello", ""), client.Options{Origin: blogOrigin, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Kill()
	waitGhosts(t, h, id(a)+"@0", id(b)+"@0.5")
	if err := h.Scroll(0.9); err != nil {
		t.Fatal(err)
	}
	d := ts.embed(t, blogOrigin, "https://blog.example/posts/hello", "")
	waitGhosts(t, d, id(a)+"@0", id(b)+"@0.5")
	waitGhosts(t, a, id(b)+"@0.5", id(d)+"@0")
}

func TestEmbedRefusals(t *testing.T) {
	ts := startServer(t, withSites(nil))
	page := url.QueryEscape("https://blog.example/posts/hello")
	long := url.QueryEscape("https://blog.example/" + strings.Repeat("a", pagekey.MaxPath))
	for _, tc := range []struct {
		name, origin, query string
		want                int
	}{
		{"no origin", "", "page=" + page, http.StatusForbidden},
		{"unknown origin", "https://evil.example", "page=" + page, http.StatusForbidden},
		{"origin not an origin", "https://blog.example/path", "page=" + page, http.StatusForbidden},
		{"origin null", "null", "page=" + page, http.StatusForbidden},
		{"another site's page", otherOrigin, "page=" + page, http.StatusForbidden},
		{"a site's own page on another host", blogOrigin, "page=" + url.QueryEscape("https://evil.example/posts/hello"), http.StatusForbidden},
		{"http page of an https site", blogOrigin, "page=" + url.QueryEscape("http://blog.example/x"), http.StatusForbidden},
		{"no page", blogOrigin, "", http.StatusBadRequest},
		{"relative page", blogOrigin, "page=%2Fposts%2Fhello", http.StatusBadRequest},
		{"page not http", blogOrigin, "page=" + url.QueryEscape("javascript:alert(1)"), http.StatusBadRequest},
		{"page with userinfo", blogOrigin, "page=" + url.QueryEscape("https://u:p@blog.example/x"), http.StatusBadRequest},
		{"page bad escape", blogOrigin, "page=" + url.QueryEscape("https://blog.example/%zz"), http.StatusBadRequest},
		{"page too long", blogOrigin, "page=" + long, http.StatusBadRequest},
		{"id with a space", blogOrigin, "page=" + page + "&id=a+b", http.StatusBadRequest},
		{"id too long", blogOrigin, "page=" + page + "&id=" + strings.Repeat("i", pagekey.MaxID+1), http.StatusBadRequest},
		{"bad hidden", blogOrigin, "page=" + page + "&hidden=maybe", http.StatusBadRequest},
		{"own origin, not a post", ts.URL, "page=" + url.QueryEscape(ts.URL+"/about"), http.StatusNotFound},
		{"own origin, no such post", ts.URL, "page=" + url.QueryEscape(ts.URL+"/posts/nope"), http.StatusNotFound},
	} {
		if got, _ := ts.refused(t, tc.origin, tc.query); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if code, _ := ts.get(t, "/ws/embed?page="+page); code != http.StatusForbidden { // no Origin first
		t.Errorf("plain GET without Origin: %d, want 403", code)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/ws/embed?page="+page, nil)
	req.Header.Set("Origin", blogOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d, want 426", resp.StatusCode)
	}
	// Nothing of that disturbed a real reader.
	a := ts.embed(t, blogOrigin, "https://blog.example/posts/hello", "")
	b := ts.embed(t, blogOrigin, "https://blog.example/posts/hello", "")
	waitGhosts(t, a, id(b)+"@0")
}

// TestEmbedRoomCap: a flood of distinct pages from one site fills its
// rooms on this node and is refused 503; readers of its live pages, of
// another site and of readtag's own posts carry on; a room that empties
// frees its place.
func TestEmbedRoomCap(t *testing.T) {
	const maxRooms = 5
	ts := startServer(t, withSites(func(w *web.Config, _ *actors.Config) { w.MaxRoomsPerSite = maxRooms }))
	idle := ts.Presence.Stats().Actors
	var pages []*client.Conn
	for i := range maxRooms {
		pages = append(pages, ts.embed(t, blogOrigin, "https://blog.example/flood/"+string(rune('a'+i)), ""))
	}
	refusedAt := 0
	for i := range 50 {
		q := "page=" + url.QueryEscape("https://blog.example/flood/more-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		code, h := ts.refused(t, blogOrigin, q)
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Fatalf("page %d beyond the cap: %d (Retry-After %q), want 503 with Retry-After", i, code, h.Get("Retry-After"))
		}
		refusedAt++
	}
	if n := ts.Web.Rooms("blog"); n != maxRooms {
		t.Errorf("blog has %d rooms here, want %d", n, maxRooms)
	}
	// The site's live pages still take readers; the others are untouched.
	second := ts.embed(t, blogOrigin, "https://blog.example/flood/a", "")
	waitGhosts(t, pages[0], id(second)+"@0")
	o1 := ts.embed(t, otherOrigin, "https://other.example/x", "")
	o2 := ts.embed(t, otherOrigin, "https://other.example/x", "")
	waitGhosts(t, o1, id(o2)+"@0")
	own := ts.dial(t, "alpha")
	ownEmbed := ts.embed(t, ts.URL, ts.URL+"/posts/alpha", "")
	waitGhosts(t, own, id(ownEmbed)+"@0")
	code, body := ts.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "Alpha") {
		t.Errorf("GET / during the flood: %d", code)
	}
	// The refusal says why, to whoever reads it.
	req, _ := http.NewRequest("GET", ts.URL+"/ws/embed?page="+url.QueryEscape("https://blog.example/one-more"), nil)
	req.Header.Set("Origin", blogOrigin)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(text), "--max-rooms-per-site") {
		t.Errorf("refusal: %d %q", resp.StatusCode, text)
	}
	// A page whose last reader leaves frees its place.
	_ = pages[1].Close()
	eventually(t, "a place to free", func() bool { return ts.Web.Rooms("blog") == maxRooms-1 })
	newest := ts.embed(t, blogOrigin, "https://blog.example/flood/new", "")
	if code, _ := ts.refused(t, blogOrigin, "page="+url.QueryEscape("https://blog.example/flood/newer")); code != http.StatusServiceUnavailable {
		t.Errorf("beyond the cap again: %d, want 503", code)
	}
	for _, c := range pages {
		_ = c.Close()
	}
	_ = second.Close()
	eventually(t, "the rooms to go", func() bool { return ts.Web.Rooms("blog") == 1 })
	// Rooms vanish with their last reader: once everyone has left, the
	// engine is back to its idle actors.
	for _, c := range []*client.Conn{newest, o1, o2, own, ownEmbed} {
		_ = c.Close()
	}
	eventually(t, "every room and reader actor to stop", func() bool { return ts.Presence.Stats().Actors == idle })
	if n := ts.Web.Rooms("blog") + ts.Web.Rooms("other.example"); n != 0 {
		t.Errorf("%d rooms left", n)
	}
}

// TestEmbedOwnPost: on readtag's own origin, a page /posts/<slug> joins
// the post's room, with the readers of /ws/posts/<slug>.
func TestEmbedOwnPost(t *testing.T) {
	ts := startServer(t, nil) // no sites at all
	post := ts.dial(t, "alpha")
	e := ts.embed(t, ts.URL, ts.URL+"/posts/alpha/", "")
	waitGhosts(t, post, id(e)+"@0")
	waitGhosts(t, e, id(post)+"@0")
	if err := e.Scroll(0.25); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, post, id(e)+"@0.25")
	// Another server's page at the same path is not this post.
	if code, _ := ts.refused(t, "https://evil.example", "page="+url.QueryEscape("https://evil.example/posts/alpha")); code != http.StatusForbidden {
		t.Errorf("a foreign page /posts/alpha: %d, want 403", code)
	}
	if code, _ := ts.refused(t, ts.URL, "page="+url.QueryEscape("https://evil.example/posts/alpha")); code != http.StatusNotFound {
		t.Errorf("own origin claiming a foreign page: %d, want 404", code)
	}
}

// TestEmbedRoomKeysCannotNameActors: a page whose path ends in
// "/reader/<id of a reader of its parent page>" is a room of its own (the
// room's actor is named by its key, and a key with slashes must not name
// another room's reader).
func TestEmbedRoomKeysCannotNameActors(t *testing.T) {
	ts := startServer(t, withSites(nil))
	a := ts.embed(t, blogOrigin, "https://blog.example/p", "")
	b := ts.embed(t, blogOrigin, "https://blog.example/p/reader/"+id(a), "")
	c := ts.embed(t, blogOrigin, "https://blog.example/p/reader/"+id(a), "")
	waitGhosts(t, b, id(c)+"@0")
	waitGhosts(t, a)
}

// countsWatcher watches path (/ws/counts or /ws/index) from a page of origin.
func (ts *testServer) watchCounts(t testing.TB, path, origin string) *indexWatcher {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+path, http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	w := &indexWatcher{ws: ws}
	t.Cleanup(func() { _ = ws.Close() })
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			var f struct {
				Type   string         `json:"type"`
				Counts map[string]int `json:"counts"`
			}
			if err == nil && (json.Unmarshal(data, &f) != nil || f.Type != "counts" || f.Counts == nil) {
				err = errors.New("bad frame: " + string(data))
			}
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			w.counts, w.frames = f.Counts, w.frames+1
			w.mu.Unlock()
		}
	}()
	eventually(t, "the first counts frame", func() bool { return w.seen() > 0 })
	return w
}

func TestCountsPerSite(t *testing.T) {
	ts := startServer(t, withSites(nil))
	blog := ts.watchCounts(t, "/ws/counts", blogWWW)
	other := ts.watchCounts(t, "/ws/counts", otherOrigin)
	own := ts.watchCounts(t, "/ws/counts", ts.URL)
	blog.within(t, 0, map[string]int{})

	ts.embed(t, blogOrigin, "https://blog.example/posts/hello/", "")
	ts.embed(t, blogWWW, "https://www.blog.example/posts/hello", "")
	ts.embed(t, blogOrigin, "https://blog.example/x", "some-id")
	ts.embed(t, otherOrigin, "https://other.example/posts/hello", "")
	ts.dial(t, "alpha")
	ts.embed(t, ts.URL, ts.URL+"/posts/beta", "")
	blog.within(t, 2*time.Second, map[string]int{"/posts/hello": 2, "/#some-id": 1})
	other.within(t, 2*time.Second, map[string]int{"/posts/hello": 1})
	own.within(t, 2*time.Second, map[string]int{"/posts/alpha": 1, "/posts/beta": 1})
	// /ws/index is unchanged: slugs.
	ts.watchCounts(t, "/ws/index", ts.URL).within(t, 2*time.Second, map[string]int{"alpha": 1, "beta": 1})

	for _, origin := range []string{"", "https://evil.example", "null"} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws/counts", h)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("/ws/counts from %q: %v %v, want 403", origin, err, resp)
		}
	}
	// A stopping server closes the site's watchers with 1001, as the index's.
	ts.Stop()
	for _, w := range []*indexWatcher{blog, other, own} {
		eventually(t, "the counts socket to close", func() bool { return w.closeErr() != nil })
		if !websocket.IsCloseError(w.closeErr(), 1001) {
			t.Errorf("counts socket at shutdown: %v, want close 1001", w.closeErr())
		}
	}
}

// TestCountsAtMostOneFrameASecond: under constant change a watcher gets
// at most one frame per CountsInterval.
func TestCountsAtMostOneFrameASecond(t *testing.T) {
	const interval = 200 * time.Millisecond
	ts := startServer(t, withSites(func(w *web.Config, _ *actors.Config) { w.CountsInterval = interval }))
	w := ts.watchCounts(t, "/ws/counts", blogOrigin)
	start, before := time.Now(), w.seen()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ts.embed(t, blogOrigin, "https://blog.example/churn", "")
			_ = c.Close()
		}()
	}
	wg.Wait()
	c := ts.embed(t, blogOrigin, "https://blog.example/last", "")
	w.within(t, 2*time.Second, map[string]int{"/last": 1})
	frames := w.seen() - before
	if limit := int(time.Since(start)/interval) + 1; frames > limit {
		t.Errorf("%d frames in %v, want at most %d", frames, time.Since(start), limit)
	}
	_ = c.Close()
}

func TestPresenceOnly(t *testing.T) {
	ts := startServer(t, withSites(func(w *web.Config, _ *actors.Config) {
		w.PresenceOnly = true
		w.Static = withEmbedJS(t)
	}))
	for _, p := range []string{"/", "/posts/alpha", "/feed.xml", "/sitemap.xml", "/tags/go", "/ws/posts/alpha", "/ws/index", "/robots.txt"} {
		if code, _ := ts.get(t, p); code != http.StatusNotFound {
			t.Errorf("presence only: GET %s: %d, want 404", p, code)
		}
	}
	for _, p := range []string{"/healthz", "/metrics", "/static/favicon.svg"} {
		if code, _ := ts.get(t, p); code != http.StatusOK {
			t.Errorf("presence only: GET %s: %d, want 200", p, code)
		}
	}
	if code, _ := ts.get(t, "/embed.js"); code != http.StatusOK { // redirect followed
		t.Errorf("presence only: GET /embed.js: %d", code)
	}
	a := ts.embed(t, blogOrigin, "https://blog.example/p", "")
	b := ts.embed(t, blogOrigin, "https://blog.example/p", "")
	waitGhosts(t, a, id(b)+"@0")
	ts.watchCounts(t, "/ws/counts", blogOrigin).within(t, 2*time.Second, map[string]int{"/p": 2})
	// Its own origin serves no posts, so no post rooms.
	if code, _ := ts.refused(t, ts.URL, "page="+url.QueryEscape(ts.URL+"/posts/alpha")); code != http.StatusForbidden {
		t.Errorf("presence only: own post: %d, want 403", code)
	}
	library, err := posts.Open(testPosts, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.New(web.Config{Posts: library, Views: views.Embedded, Presence: ts.Presence, PresenceOnly: true}); err == nil {
		t.Error("PresenceOnly without Sites: no error")
	}
}

// embedAssets is a static folder with a small embed.js, written readable
// (and long enough to be worth compressing).
var embedAssets = fstest.MapFS{
	"static/favicon.svg": {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	"static/embed.js": {Data: []byte(`// The test's embed.js: comments and spaces that the server strips.
(function () {
    /* a block comment */
    var readtagLongVariableName = document.currentScript;
    window.readtagTest = { script: readtagLongVariableName };
` + strings.Repeat("    readtagLongVariableName.dataset.readtagSomething = String(readtagLongVariableName.src);\n", 20) + `})();
`)},
	"static/embed.css": {Data: []byte("/* a comment */\n.ghost {\n    color : #ff0000 ;\n}\n")},
}

// withEmbedJS is web/static as it is on disk, with the test's embed.js
// if it has none yet.
func withEmbedJS(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	entries, err := os.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("static", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m["static/"+e.Name()] = &fstest.MapFile{Data: data}
	}
	if m["static/embed.js"] == nil {
		m["static/embed.js"] = embedAssets["static/embed.js"]
	}
	return m
}

func TestEmbedScript(t *testing.T) {
	ts := startServer(t, withSites(func(w *web.Config, _ *actors.Config) { w.Static = embedAssets }))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(ts.URL + "/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/static/embed.js?v=") || len(loc) != len("/static/embed.js?v=")+12 ||
		resp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /embed.js: %d Location %q Cache-Control %q", resp.StatusCode, loc, resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", ts.URL+loc, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req) // no transparent gunzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for k, want := range map[string]string{
		"Cache-Control":                "public, max-age=31536000, immutable",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"Content-Encoding":             "gzip",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %s %q, want %q", loc, k, got, want)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	src := string(embedAssets["static/embed.js"].Data)
	if len(body) == 0 || len(body) >= len(src)/2 || strings.Contains(string(body), "comment") || !strings.Contains(string(body), "window.readtagTest") {
		t.Errorf("served embed.js (%d bytes of %d) is not the minified source: %q", len(body), len(src), body)
	}
	if code, css := ts.get(t, "/static/embed.css"); code != http.StatusOK || css != ".ghost{color:red}" {
		t.Errorf("embed.css: %d %q", code, css)
	}

	// A server with no embed.js answers 404, plainly.
	noScript := withEmbedJS(t)
	delete(noScript, "static/embed.js")
	bare := startServer(t, withSites(func(w *web.Config, _ *actors.Config) { w.Static = noScript }))
	if code, _ := bare.get(t, "/embed.js"); code != http.StatusNotFound {
		t.Errorf("no embed.js: %d, want 404", code)
	}
}

func TestCheckSites(t *testing.T) {
	good, err := web.CheckSites([]web.Site{{Name: "blog.example.com", Origins: []string{"HTTPS://Blog.Example.com:443/", "https://www.blog.example.com"}}, {Name: "127.0.0.1:41234", Origins: []string{"http://127.0.0.1:41234"}}})
	if err != nil || good[0].Origins[0] != "https://blog.example.com" {
		t.Fatalf("CheckSites: %v, %v", good, err)
	}
	for _, tc := range []struct {
		sites []web.Site
		want  string
	}{
		{[]web.Site{{Name: "", Origins: []string{"https://a.example"}}}, `site name ""`},
		{[]web.Site{{Name: "Blog", Origins: []string{"https://a.example"}}}, `site name "Blog"`},
		{[]web.Site{{Name: "-blog", Origins: []string{"https://a.example"}}}, `site name "-blog"`},
		{[]web.Site{{Name: "a/b", Origins: []string{"https://a.example"}}}, `site name "a/b"`},
		{[]web.Site{{Name: strings.Repeat("a", 64), Origins: []string{"https://a.example"}}}, `site name`},
		{[]web.Site{{Name: "blog"}}, `site "blog" has no origin`},
		{[]web.Site{{Name: "blog", Origins: []string{"a.example"}}}, `site "blog": "a.example" is not an origin`},
		{[]web.Site{{Name: "blog", Origins: []string{"https://a.example/path"}}}, `is not an origin`},
		{[]web.Site{{Name: "blog", Origins: []string{"https://a.example", "HTTPS://A.example:443"}}}, `lists origin https://a.example twice`},
		{[]web.Site{{Name: "a", Origins: []string{"https://a.example"}}, {Name: "a", Origins: []string{"https://b.example"}}}, `site "a" is named twice`},
		{[]web.Site{{Name: "a", Origins: []string{"https://a.example"}}, {Name: "b", Origins: []string{"https://a.example"}}}, `origin https://a.example belongs to two sites, "a" and "b"`},
	} {
		if _, err := web.CheckSites(tc.sites); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckSites(%v): %v, want %q", tc.sites, err, tc.want)
		}
	}
}
