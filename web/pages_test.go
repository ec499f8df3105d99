package web_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
)

func TestPages(t *testing.T) {
	ts := startServer(t, nil)
	status, body := ts.get(t, "/")
	if status != 200 || strings.Index(body, "Beta") > strings.Index(body, "Alpha") || strings.Contains(body, "Draft") {
		t.Errorf("index: %d, want Beta before Alpha and no Draft:\n%s", status, body)
	}
	status, body = ts.get(t, "/posts/alpha")
	if status != 200 || !strings.Contains(body, "<article") || !strings.Contains(body, `id="one"`) {
		t.Errorf("post: %d\n%s", status, body)
	}
	for _, path := range []string{"/posts/draft", "/posts/nope", "/posts/%2e%2e", "/posts/..%2fgo.mod", "/posts/" + strings.Repeat("a", 200), "/nope", "/static/nope.js"} {
		if status, body := ts.get(t, path); status != 404 || !strings.Contains(body, "Not Found") {
			t.Errorf("%s: %d, want a 404 page:\n%.300s", path, status, body)
		}
	}
}

func TestNotWebSocketOrWrongMethod(t *testing.T) {
	ts := startServer(t, nil)
	if status, body := ts.get(t, "/ws/posts/alpha"); status != 426 || !strings.Contains(body, "WebSocket only") {
		t.Errorf("plain GET of the live channel: %d, want 426 with a reason:\n%.500s", status, body)
	}
	// Every route answers other methods with 405 and says which it takes;
	// a path no route has is 404 whatever the method.
	for _, tc := range []struct{ method, path string }{
		{"POST", "/"}, {"POST", "/posts/alpha"}, {"PUT", "/posts/nope"}, {"DELETE", "/healthz"},
		{"POST", "/healthz"}, {"POST", "/metrics"}, {"POST", "/static/embed.js"}, {"POST", "/ws/posts/alpha"},
		{"PATCH", "/"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(body), "Method Not Allowed") {
			t.Errorf("%s %s: %d, Allow %q; want 405 with Allow: GET, HEAD and an error page:\n%.300s",
				tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
	for _, tc := range []struct{ method, path string }{{"POST", "/nope"}, {"GET", "/nope"}, {"POST", "/posts/a/b"}} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.path, resp.StatusCode)
		}
	}
	// HEAD works where GET does.
	resp, err := http.Head(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /healthz: %d", resp.StatusCode)
	}
}

func TestRawDotDotIs404(t *testing.T) {
	ts := startServer(t, nil)
	// net/http would clean the path; send it raw.
	req, _ := http.NewRequest("GET", ts.URL+"/posts/x", nil)
	req.URL.Opaque = "/posts/../../go.mod"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("raw ../: %d, want 404", resp.StatusCode)
	}
}

func TestStaticCaching(t *testing.T) {
	ts := startServer(t, nil)
	_, body := ts.get(t, "/posts/alpha")
	i := strings.Index(body, "/static/embed.js?v=")
	if i < 0 {
		t.Fatalf("no versioned script in the post page")
	}
	url := body[i : i+strings.IndexByte(body[i:], '"')]
	resp, err := http.Get(ts.URL + url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("versioned asset: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/static/embed.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 304 {
		t.Errorf("conditional request: %d, want 304", resp.StatusCode)
	}
}

func TestLivePostErrorPage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "alpha.md")
	if err := os.WriteFile(file, []byte("---\ntitle: Alpha\ndate: 2026-01-02\nsummary: S.\n---\nText.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(w *web.Config, _ *actors.Config) {
		lib, err := posts.Open(os.DirFS(dir), true)
		if err != nil {
			t.Fatal(err)
		}
		w.Posts = lib
	})
	if status, _ := ts.get(t, "/posts/alpha"); status != 200 {
		t.Fatalf("post: %d", status)
	}
	// The writer breaks the front matter: the post keeps its last good
	// version, on its page and in the index, with the reason on its page
	// and in the log (once, not repeated).
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(file, []byte("---\ntitle: [Alpha\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(file, later, later)
	status, body := ts.get(t, "/posts/alpha")
	if status != 200 || !strings.Contains(body, "<article") || !strings.Contains(body, "alpha.md: line 2: front matter") {
		t.Errorf("broken post: %d, want 200 with the last good version and the reason:\n%.3000s", status, body)
	}
	if status, body := ts.get(t, "/"); status != 200 || !strings.Contains(body, "Alpha") {
		t.Errorf("index with a broken post: %d, want it listed:\n%.2000s", status, body)
	}
	if logs := ts.Logs.String(); strings.Count(logs, "post does not parse") != 1 || !strings.Contains(logs, `"file":"alpha.md"`) {
		t.Errorf("want one log line for the broken post, got:\n%s", logs)
	}
	// A new post that never parsed shows its error, named once.
	if err := os.WriteFile(filepath.Join(dir, "beta.md"), []byte("---\ntitle: Beta\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, body = ts.get(t, "/posts/beta")
	if status != 500 || strings.Count(body, `beta.md: front matter: &#34;date&#34; is required`) != 1 {
		t.Errorf("new broken post: %d, want 500 naming the file once:\n%.3000s", status, body)
	}
	for _, l := range strings.Split(ts.Logs.String(), "\n") {
		if strings.Contains(l, "request failed") && strings.Count(l, "is required") != 1 {
			t.Errorf("the reason is logged more than once: %s", l)
		}
	}
}

func TestHealth(t *testing.T) {
	ts := startServer(t, nil)
	status, body := ts.get(t, "/healthz")
	if status != 200 || strings.TrimSpace(body) != `{"members":["local"],"node":"local","ready":true}` {
		t.Errorf("/healthz: %d %s", status, body)
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.dial(t, "alpha")
	b := ts.dial(t, "alpha")
	_ = a.Scroll(0.5)
	_ = a.WriteText([]byte(`{"type":"nope"}`))
	waitGhosts(t, b, id(a)+"@0.5")
	// Counters rise after the event they count (a frame is counted once
	// written, after the client may already have it): poll for all of them.
	wants := []string{
		"readtag_bad_frames_total 1",
		"readtag_readers 2",
		"readtag_joins_total 2",
		"readtag_frames_in_total 2",
		`readtag_frames_out_total{type="welcome"} 2`,
		`readtag_frames_out_total{type="moves"} 1`,
		`readtag_frames_out_total{type="error"} 1`,
		"readtag_fanout_delay_seconds_bucket",
		"readtag_accept_to_upgrade_seconds_count 2",
		"readtag_actors ",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	}
	var body string
	var missing []string
	deadline := time.Now().Add(waitLimit)
	for {
		_, body = ts.get(t, "/metrics")
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %q:\n%s", missing, body)
	}
}

// TestMetricsFromStart: every series is there before its first event, at 0.
func TestMetricsFromStart(t *testing.T) {
	ts := startServer(t, nil)
	_, body := ts.get(t, "/metrics")
	for _, want := range []string{
		"# TYPE readtag_leaves_total counter",
		`readtag_leaves_total{by="client"} 0`,
		`readtag_leaves_total{by="server"} 0`,
		`readtag_leaves_total{by="timeout"} 0`,
		`readtag_leaves_total{by="slow"} 0`,
		`readtag_leaves_total{by="error"} 0`,
		`readtag_frames_out_total{type="crowd"} 0`,
		"readtag_joins_total 0",
		"readtag_slow_clients_closed_total 0",
		"readtag_fanout_delay_seconds_count 0",
		"readtag_dead_letters_total 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of a fresh server lacks %q", want)
		}
	}
}

func TestLiveViews(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"layout.html", "index.html", "post.html", "tags.html", "error.html"} {
		b, err := views.Embedded.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, func(w *web.Config, _ *actors.Config) {
		w.Views, w.LiveViews = os.DirFS(dir), true
	})
	index := filepath.Join(dir, "index.html")
	b, _ := os.ReadFile(index)
	edited := strings.Replace(string(b), `{{define "content"}}`, `{{define "content"}}<p id="edited">edited on disk</p>`, 1)
	if err := os.WriteFile(index, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, body := ts.get(t, "/"); !strings.Contains(body, `id="edited"`) {
		t.Errorf("an edit of views/index.html on disk did not show without a restart")
	}
	// A broken template is an error page, and the rest keeps working.
	if err := os.WriteFile(index, []byte(`{{define "content"}}{{.Nope`), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _ := ts.get(t, "/"); status != 500 {
		t.Errorf("broken template: %d, want 500", status)
	}
	if status, _ := ts.get(t, "/posts/alpha"); status != 200 {
		t.Errorf("a post with the index template broken: %d", status)
	}
}
