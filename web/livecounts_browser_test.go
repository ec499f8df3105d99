package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

// badge is the index's "N reading now" text for a post, "" when hidden.
func badge(slug string) string {
	return fmt.Sprintf(`(() => { const b = document.querySelector('.post-item[data-slug=%q] .reading-now');
		return b && !b.hidden ? b.textContent : "" })()`, slug)
}

// TestBrowserIndexCounts: the index shows how many read each post, and
// follows a reader's arrival and departure within two seconds.
func TestBrowserIndexCounts(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	index := tab(t, browser, ts.URL+"/", 1280, 1060)
	if got := eval[string](t, index, badge("how-readtag-works")); got != "" {
		t.Fatalf("nobody reads yet, but the index says %q", got)
	}

	post := tab(t, browser, ts.URL+"/posts/how-readtag-works", 1280, 800)
	took := poll(t, index, "1 reading now", badge("how-readtag-works")+` == "1 reading now"`, 2*time.Second)
	t.Logf("a reader's arrival showed on the index after %v", took)
	other := ts.dial(t, "how-readtag-works")
	poll(t, index, "2 reading now", badge("how-readtag-works")+` == "2 reading now"`, 2*time.Second)

	start := time.Now()
	chromedp.Cancel(post)
	poll(t, index, "1 reading now again", badge("how-readtag-works")+` == "1 reading now"`, 2*time.Second)
	t.Logf("a closed tab left the index's count after %v", time.Since(start))
	_ = other.Close()
	poll(t, index, "no count", badge("how-readtag-works")+` == ""`, 2*time.Second)

	// The picture for the README: a few posts with readers.
	for slug, n := range map[string]int{"how-readtag-works": 3, "reading-together": 12, "fractions-not-pixels": 1} {
		for range n {
			ts.dial(t, slug)
		}
	}
	poll(t, index, "the counts for the picture", badge("reading-together")+` == "12 reading now" && `+
		badge("how-readtag-works")+` == "3 reading now" && `+badge("fractions-not-pixels")+` == "1 reading now" && `+
		badge("actors-in-go")+` == ""`, 3*time.Second)
	shot, err := chromedp.Run(index, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "readtag-index.png")
	if *updateScreenshot {
		out = filepath.Join("..", "docs", "index.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved to %s", out)
}

// TestBrowserIndexAfterRestart: the index's counts come back within
// seconds of a restarted server's return (the counts channel reconnects as
// a post's page does), and are hidden while it is down.
func TestBrowserIndexAfterRestart(t *testing.T) {
	browser := newBrowser(t)
	embedded := embeddedPosts(t)
	ts := startServerAt(t, testutil.FreeAddr(t), embedded)
	index := tab(t, browser, ts.URL+"/", 1280, 1060)
	reader := ts.dial(t, "how-readtag-works")
	poll(t, index, "1 reading now", badge("how-readtag-works")+` == "1 reading now"`, waitLimit)
	ts.Stop()
	poll(t, index, "the count hidden while the server is down", badge("how-readtag-works")+` == ""`, waitLimit)
	ts = startServerAt(t, ts.Addr, embedded)
	back := time.Now()
	ts.dialWith(t, "how-readtag-works", client.Options{Resume: reader.Resume()})
	// The design is about a second; 10 s only catches a broken one.
	poll(t, index, "1 reading now again", badge("how-readtag-works")+` == "1 reading now"`, 10*time.Second)
	t.Logf("the index counted again %v after the server was back", time.Since(back).Round(time.Millisecond))
}

// TestBrowserIndexAcrossNodes: node b's index counts a reader on node a.
func TestBrowserIndexAcrossNodes(t *testing.T) {
	browser := newBrowser(t)
	nodes := startCluster(t, 2, embeddedPosts(t))
	index := tab(t, browser, nodes[1].URL+"/", 1024, 768)
	poll(t, index, "the index's channel", `document.querySelectorAll(".reading-now").length > 0`, 5*time.Second)
	post := tab(t, browser, nodes[0].URL+"/posts/fractions-not-pixels", 390, 844)
	// Another node's counts come as its aggregate (at most one a second)
	// through b's index channel (at most one frame a second): about 2 s at
	// worst by design; 5 s only catches a broken one.
	took := poll(t, index, "node a's reader on node b's index", badge("fractions-not-pixels")+` == "1 reading now"`, 5*time.Second)
	t.Logf("a reader on node a showed on node b's index after %v", took)
	chromedp.Cancel(post)
	took = poll(t, index, "the count to go", badge("fractions-not-pixels")+` == ""`, 5*time.Second)
	t.Logf("its departure showed after %v", took)
}
