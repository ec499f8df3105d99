package web_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// embedBudget is issue 21's limit for embed.js as a reader downloads it:
// minified by the server and gzip-compressed.
const embedBudget = 15 * 1024

// TestEmbedScriptSize fetches the real embed.js the way another site's page
// does (GET /embed.js, then its fingerprinted address, accepting gzip) and
// checks that what crosses the wire is minified and within the budget.
func TestEmbedScriptSize(t *testing.T) {
	ts := startServer(t, nil)
	src, err := os.ReadFile("static/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(ts.URL + "/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/static/embed.js?v=") {
		t.Fatalf("GET /embed.js: %d, Location %q", resp.StatusCode, loc)
	}
	size := func(coding string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+loc, nil)
		if coding != "" {
			req.Header.Set("Accept-Encoding", coding)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); got != coding {
			t.Fatalf("asked for %q, got Content-Encoding %q", coding, got)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return len(body)
	}
	plain, gz := size(""), size("gzip")
	t.Logf("embed.js: source %d B, minified %d B, gzip %d B (budget %d B)", len(src), plain, gz, embedBudget)
	if plain >= len(src) {
		t.Errorf("embed.js is served with %d of its %d source bytes: not minified", plain, len(src))
	}
	if gz > embedBudget {
		t.Errorf("embed.js is %d B gzip-compressed, over the %d B budget", gz, embedBudget)
	}
}
