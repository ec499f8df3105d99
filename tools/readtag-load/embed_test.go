package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/web"
)

// withLoadSites configures a server with the load tool's first n sites
// (--embed-origin's default), each named after its host as readtag's
// --sites names them.
func withLoadSites(t *testing.T, n int) testserver.Option {
	t.Helper()
	origins, err := protocol.SiteOrigins(protocol.DefaultSiteOrigin, n)
	if err != nil {
		t.Fatal(err)
	}
	return testserver.Configure(func(w *web.Config, _ *actors.Config) {
		for _, o := range origins {
			w.Sites = append(w.Sites, web.Site{Name: strings.TrimPrefix(o, "http://"), Origins: []string{o}})
		}
	})
}

// A storm over embedded pages of several sites joins every page's room on
// a real readtag, each reader under its site's Origin and one of six
// spellings of its page's URL: every view must be exactly its page's other
// readers (so no spelling split a room and no two sites shared one),
// across two worker processes.
func TestStormOverEmbeddedPages(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError), withLoadSites(t, 3)).URL
	// 12 readers a page: each of the six spellings twice.
	rep, err := runTool(t, "storm", "--targets", url, "--readers", "108", "--embed-sites", "3", "--embed-pages", "9",
		"--ramp", "500ms", "--duration", "10s", "--procs", "2")
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Runs[0]
	if res.Views == nil || !res.Views.Agree || res.Views.Checked != 108 {
		t.Fatalf("views: %+v", res.Views)
	}
	if res.Errors != 0 || res.JoinMs == nil || res.JoinMs.Count != 108 {
		t.Errorf("errors %d (dial %v, closes %v, error frames %v), join times %+v",
			res.Errors, res.DialErrors, res.Closes, res.ErrorFrames, res.JoinMs)
	}
	if res.PostN != 9 || res.Sites != 3 || !strings.HasPrefix(res.Posts[1], "http://site1.test/notes/") {
		t.Errorf("rooms: %d pages of %d sites (%v), want 9 of 3", res.PostN, res.Sites, res.Posts)
	}
	if p := rep.Params; p.EmbedSites != 3 || p.EmbedPages != 9 || p.EmbedOrigin != protocol.DefaultSiteOrigin {
		t.Errorf("params: %+v", p)
	}
}

// A hot run over embedded pages holds its readers in the rooms readtag keys
// by site and normalised path: while it runs, the server counts six
// readers in each of the six pages' rooms, and in no other.
func TestHotOverEmbeddedPages(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.LogLevel(slog.LevelError), withLoadSites(t, 2))
	want := map[string]int{}
	for k := range 6 {
		want[fmt.Sprintf("site%d.test/notes/load-%04d", k%2, k/2)] = 6
	}
	// Read the server's rooms while the run holds its readers.
	var (
		mu   sync.Mutex
		last map[string]int
		seen bool
	)
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			_, counts := srv.Presence.Counts(0)
			mu.Lock()
			last = counts
			seen = seen || maps.Equal(counts, want)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	rep, err := runTool(t, "hot", "--targets", srv.URL, "--readers", "36", "--embed-sites", "2", "--embed-pages", "6",
		"--rate", "5", "--duration", "2s", "--ramp", "300ms", "--procs", "1", "--pid", "0")
	close(stop)
	<-polled
	if err != nil {
		t.Fatal(err)
	}
	checkHot(t, rep.Runs[0], 36)
	mu.Lock()
	defer mu.Unlock()
	if !seen {
		t.Errorf("the server never counted the rooms %v during the run; last %v", want, last)
	}
}

// A server that does not know the sites refuses the run before it starts,
// saying which --sites it needs.
func TestEmbedAgainstServerWithoutTheSites(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.LogLevel(slog.LevelError), withLoadSites(t, 1))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"storm", "--targets", srv.URL, "--readers", "10", "--embed-sites", "2",
		"--procs", "1"}, &stdout, &stderr)
	want := "refused a socket from http://site1.test (HTTP 403): start readtag with --sites http://site0.test,http://site1.test"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("run against a server with one of two sites = %v, want an error with %q", err, want)
	}
}
