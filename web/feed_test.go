package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// The test's own reading of Atom (RFC 4287), independent of the server's.
type atomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  []struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Links   []atomLink `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		Title   string     `xml:"http://www.w3.org/2005/Atom title"`
		ID      string     `xml:"http://www.w3.org/2005/Atom id"`
		Updated string     `xml:"http://www.w3.org/2005/Atom updated"`
		Links   []atomLink `xml:"http://www.w3.org/2005/Atom link"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"http://www.w3.org/2005/Atom content"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

func publicURL(u string) func(*web.Config, *actors.Config) {
	return func(w *web.Config, _ *actors.Config) { w.PublicURL = u }
}

func fetch(t testing.TB, method, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A bare transport: Go's would ask for gzip itself and hide the encoding.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestFeedIsAtom(t *testing.T) {
	ts := startServer(t, publicURL("https://blog.example.com/"))
	resp, body := fetch(t, "GET", ts.URL+"/feed.xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("GET /feed.xml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var f atomFeed
	if err := xml.Unmarshal(body, &f); err != nil {
		t.Fatalf("feed does not parse as Atom: %v\n%s", err, body)
	}
	if f.Title == "" || f.ID != "https://blog.example.com/" || len(f.Author) != 1 || f.Author[0].Name == "" {
		t.Errorf("feed head: title %q id %q author %v", f.Title, f.ID, f.Author)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil || !strings.HasPrefix(f.Updated, "2026-03-04") {
		t.Errorf("feed updated %q: want the newest post's date in RFC 3339 (%v)", f.Updated, err)
	}
	if !hasLink(f.Links, "self", "https://blog.example.com/feed.xml") {
		t.Errorf("feed links %v: want rel=self with the public URL", f.Links)
	}
	if len(f.Entries) != 2 { // the draft is left out
		t.Fatalf("feed has %d entries, want 2", len(f.Entries))
	}
	e := f.Entries[0]
	if e.Title != "Beta" || e.ID != "https://blog.example.com/posts/beta" || !hasLink(e.Links, "alternate", e.ID) {
		t.Errorf("first entry %q id %q links %v", e.Title, e.ID, e.Links)
	}
	if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
		t.Errorf("entry updated %q: %v", e.Updated, err)
	}
	if e.Content.Type != "html" || !strings.Contains(e.Content.Body, "<p>More text.</p>") {
		t.Errorf("entry content %q (%s)", e.Content.Body, e.Content.Type)
	}
}

func hasLink(links []atomLink, rel, href string) bool {
	for _, l := range links {
		if l.Rel == rel && l.Href == href {
			return true
		}
	}
	return false
}

func TestSitemapRobotsFavicon(t *testing.T) {
	ts := startServer(t, publicURL("https://blog.example.com"))
	_, body := fetch(t, "GET", ts.URL+"/sitemap.xml")
	var sm struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []struct {
			Loc     string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 loc"`
			LastMod string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 lastmod"`
		} `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 url"`
	}
	if err := xml.Unmarshal(body, &sm); err != nil {
		t.Fatalf("sitemap: %v\n%s", err, body)
	}
	var locs []string
	for _, u := range sm.URLs {
		locs = append(locs, u.Loc+" "+u.LastMod)
	}
	if got := strings.Join(locs, ", "); got != "https://blog.example.com/ 2026-03-04, https://blog.example.com/posts/beta 2026-03-04, https://blog.example.com/posts/alpha 2026-01-02, "+
		"https://blog.example.com/tags 2026-03-04, https://blog.example.com/tags/go 2026-03-04, https://blog.example.com/tags/actors 2026-01-02" {
		t.Errorf("sitemap lists %s", got)
	}
	if _, body := fetch(t, "GET", ts.URL+"/robots.txt"); !strings.Contains(string(body), "Sitemap: https://blog.example.com/sitemap.xml") ||
		!strings.Contains(string(body), "Disallow: /ws/") {
		t.Errorf("robots.txt: %s", body)
	}
	resp, body := fetch(t, "GET", ts.URL+"/favicon.ico")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(body, []byte("<svg")) {
		t.Errorf("favicon.ico: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, page := fetch(t, "GET", ts.URL+"/posts/alpha")
	for _, want := range []string{
		`<link rel="canonical" href="https://blog.example.com/posts/alpha">`,
		`<meta property="og:url" content="https://blog.example.com/posts/alpha">`,
		`<meta property="og:title" content="Alpha">`,
		`<meta property="og:description" content="The first.">`,
		`<meta name="twitter:card" content="summary">`,
		`<link rel="alternate" type="application/atom+xml"`,
		`rel="icon" href="/static/favicon.svg?v=`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("post page lacks %s", want)
		}
	}
}

// TestLinksFromHost: without --public-url, links are built from the Host
// the request came to, and a Host that is not a plain host name is refused.
func TestLinksFromHost(t *testing.T) {
	ts := startServer(t, nil)
	_, body := fetch(t, "GET", ts.URL+"/feed.xml")
	if !bytes.Contains(body, []byte("<id>"+ts.URL+"/</id>")) {
		t.Errorf("feed without --public-url does not use %s:\n%s", ts.URL, body)
	}
	for _, host := range []string{"evil.example/path", "a b", "x\"onload=", strings.Repeat("a", 300) + ".example"} {
		status, reply := rawHTTP(t, ts, "GET /feed.xml HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if (status != 400 && status != 404) || strings.Contains(reply, "<feed") {
			t.Errorf("Host %.40q: status %d, want 400 (or 404 where the router reads the Host as a path)", host, status)
		}
	}
}

// rawHTTP writes req as is and returns the status code and the reply.
func rawHTTP(t testing.TB, ts *testServer, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(conn)
	var status int
	var proto string
	_, _ = fmt.Sscan(string(reply), &proto, &status)
	return status, string(reply)
}

func TestConditionalRequests(t *testing.T) {
	ts := startServer(t, nil)
	for _, path := range []string{"/", "/posts/alpha", "/feed.xml", "/sitemap.xml"} {
		resp, body := fetch(t, "GET", ts.URL+path)
		etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if resp.StatusCode != 200 || !strings.HasPrefix(etag, `W/"`) || lm == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %d etag %q last-modified %q cache-control %q", path, resp.StatusCode, etag, lm, resp.Header.Get("Cache-Control"))
		}
		for _, h := range [][]string{
			{"If-None-Match", etag},
			{"If-None-Match", strings.TrimPrefix(etag, "W/")},
			{"If-None-Match", `"other", ` + etag},
			{"If-None-Match", "*"},
			{"If-Modified-Since", lm},
			{"If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
		} {
			resp, got := fetch(t, "GET", ts.URL+path, h...)
			if resp.StatusCode != http.StatusNotModified || len(got) != 0 || resp.Header.Get("ETag") != etag {
				t.Errorf("GET %s with %s: %d (%d bytes, etag %q), want 304 with the etag", path, h, resp.StatusCode, len(got), resp.Header.Get("ETag"))
			}
		}
		for _, h := range [][]string{
			{"If-None-Match", `W/"stale"`},
			{"If-None-Match", `"stale"`, "If-Modified-Since", lm}, // the tag decides
			{"If-Modified-Since", "yesterday"},
			{"If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"},
			{"If-None-Match", strings.Repeat(`"x",`, 900)},
		} {
			resp, got := fetch(t, "GET", ts.URL+path, h...)
			if resp.StatusCode != 200 || !bytes.Equal(got, body) {
				t.Errorf("GET %s with %.40q: %d, want 200 and the page", path, h, resp.StatusCode)
			}
		}
	}
	// Larger than the server reads: a clear refusal, not a hang or a page.
	// The server answers and closes once it has read what it takes; if
	// that happens while the client is still writing the rest, the client
	// sees the connection broken (EPIPE or a reset) instead of the answer,
	// which refuses as well: the server then still serves.
	req, err := http.NewRequest("GET", ts.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", strings.Repeat(`"x",`, 3000))
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	switch {
	case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET):
		if resp, _ := fetch(t, "GET", ts.URL+"/"); resp.StatusCode != 200 {
			t.Errorf("after a huge If-None-Match: GET / %d, want 200", resp.StatusCode)
		}
	case err != nil:
		t.Fatalf("huge If-None-Match: %v", err)
	default:
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("huge If-None-Match: %d, want 431 or 400", resp.StatusCode)
		}
	}
	// Static assets keep their own validators: immutable when versioned.
	_, page := fetch(t, "GET", ts.URL+"/")
	i := bytes.Index(page, []byte("/static/readtag.css?v="))
	url := string(page[i : i+bytes.IndexByte(page[i:], '"')])
	resp, _ = fetch(t, "GET", ts.URL+url)
	if resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("GET %s: Cache-Control %q", url, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := fetch(t, "GET", ts.URL+url, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("GET %s with its etag: %d, want 304", url, resp.StatusCode)
	}
}

func TestCompression(t *testing.T) {
	ts := startServer(t, nil)
	_, plain := fetch(t, "GET", ts.URL+"/posts/alpha")
	for _, tc := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"br", "br"},
		{"gzip, br", "br"},
		{"br;q=0.5, gzip;q=0.9", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"identity", ""},
		{"deflate", ""}, // not offered by us: plain
		{"*", ""},
		{"gzip;q=abc", ""},
		{"gzip;q=7", ""},
		{";;;,,,br;;q=", ""},
		{strings.Repeat("x-unknown, ", 150) + "gzip", ""},
	} {
		resp, body := fetch(t, "GET", ts.URL+"/posts/alpha", "Accept-Encoding", tc.accept)
		got := resp.Header.Get("Content-Encoding")
		if resp.StatusCode != 200 || got != tc.want {
			t.Errorf("Accept-Encoding %.30q: %d, Content-Encoding %q, want %q", tc.accept, resp.StatusCode, got, tc.want)
			continue
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %.30q: no Vary: Accept-Encoding", tc.accept)
		}
		var r io.Reader = bytes.NewReader(body)
		switch got {
		case "gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		case "br":
			r = brotli.NewReader(r)
		}
		decoded, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(decoded, plain) {
			t.Errorf("Accept-Encoding %q: body does not decode to the page (%v)", tc.accept, err)
		}
	}
	// Every text kind, brotli included.
	for _, path := range []string{"/feed.xml", "/sitemap.xml"} {
		if resp, _ := fetch(t, "GET", ts.URL+path, "Accept-Encoding", "br"); resp.Header.Get("Content-Encoding") != "br" {
			t.Errorf("GET %s: Content-Encoding %q, want br", path, resp.Header.Get("Content-Encoding"))
		}
	}
}

// TestWebSocketsUnaffectedByCompression: browsers send Accept-Encoding on
// the upgrade; both sockets must still open and talk.
func TestWebSocketsUnaffectedByCompression(t *testing.T) {
	ts := startServer(t, nil)
	h := http.Header{"Origin": {ts.URL}, "Accept-Encoding": {"gzip, deflate, br, zstd"}}
	post, _, err := websocket.DefaultDialer.Dial(client.URL(ts.URL, "alpha"), h)
	if err != nil {
		t.Fatalf("dial post with Accept-Encoding: %v", err)
	}
	defer post.Close()
	_ = post.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := post.ReadMessage(); err != nil || !bytes.Contains(data, []byte(`"welcome"`)) {
		t.Fatalf("first frame on the post %s (%v), want the welcome", data, err)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws/index", h)
	if err != nil {
		t.Fatalf("dial index with Accept-Encoding: %v", err)
	}
	defer ws.Close()
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("upgrade answered with Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := ws.ReadMessage(); err != nil || !bytes.Contains(data, []byte(`"alpha":1`)) {
		t.Errorf("index frame %s (%v), want alpha's reader", data, err)
	}
}

func TestTagPages(t *testing.T) {
	ts := startServer(t, nil)
	code, body := ts.get(t, "/tags/go")
	if code != 200 || !strings.Contains(body, `Posts tagged “go”`) || !strings.Contains(body, `data-slug="alpha"`) || !strings.Contains(body, `data-slug="beta"`) {
		t.Errorf("GET /tags/go: %d\n%s", code, body)
	}
	code, body = ts.get(t, "/tags/actors")
	if code != 200 || !strings.Contains(body, `data-slug="alpha"`) || strings.Contains(body, `data-slug="beta"`) {
		t.Errorf("GET /tags/actors: %d, want alpha only", code)
	}
	if _, body := ts.get(t, "/posts/alpha"); !strings.Contains(body, `<a href="/tags/actors" rel="tag">#actors</a>`) {
		t.Error("the post does not link its tags")
	}
	for path, want := range map[string]string{
		"/tags/nothing":                      "No post has this tag.",
		"/tags/Go":                           "There is no such tag",
		"/tags/a%20b":                        "There is no such tag",
		"/tags/%3Cscript%3E":                 "There is no such tag",
		"/tags/" + strings.Repeat("a", 33):   "There is no such tag",
		"/tags/" + strings.Repeat("a", 1000): "There is no such tag",
		"/tags/..%2fetc":                     "There is no ",
	} {
		code, body := ts.get(t, path)
		if code != 404 || !strings.Contains(body, want) {
			t.Errorf("GET %.60s: %d, want 404 with %q", path, code, want)
		}
	}
	// With a trailing slash, the list of tags (routing is not strict), whose
	// canonical link names /tags.
	if code, body := ts.get(t, "/tags/"); code != 200 || !strings.Contains(body, `<link rel="canonical" href="`+ts.URL+`/tags">`) {
		t.Errorf("GET /tags/: %d, want the tags page with its canonical link:\n%.400s", code, body)
	}
	var f atomFeed
	_, feed := fetch(t, "GET", ts.URL+"/feed.xml")
	if !bytes.Contains(feed, []byte(`<category term="actors"></category>`)) {
		t.Errorf("feed entries lack their tags:\n%s", feed)
	}
	_ = xml.Unmarshal(feed, &f)
}
