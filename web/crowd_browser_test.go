package web_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/readtag/readtag/web/client"
)

// A reader at rest in a dense crowd sees a calm margin: with 99 others
// jittering within a hundredth of the article around it, every 100 ms, the
// page's ghosts are swapped out only as its latest movers change (a few a
// second), not on every frame (sticky crowd views, actors/crowd.go; before
// them the page saw hundreds of swaps in three seconds, docs/performance.md).
func TestBrowserCrowdJitterKeepsGhosts(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, embeddedPosts(t))
	const (
		n      = 100
		rounds = 30
		place  = 0.5
	)
	page := tab(t, browser, ts.URL+"/posts/reading-together", 1280, 800)
	scrollTo(t, page, place)
	poll(t, page, "the page to report its place", `Math.abs(window.readtag.state().position - 0.5) < 0.001`, 5*time.Second)
	var crowd []*client.Conn
	for range n - 1 {
		crowd = append(crowd, ts.dial(t, "reading-together"))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	jitter := func() {
		for _, c := range crowd {
			if err := c.Scroll(math.Round((place+(rng.Float64()-0.5)/50)*1e4) / 1e4); err != nil {
				t.Fatal(err)
			}
		}
	}
	jitter()
	poll(t, page, "100 reading now", pill+`.textContent.includes("100 reading now")`, 10*time.Second)
	poll(t, page, "the crowd's ghosts", `Object.keys(window.readtag.state().ghosts).length >= 12`, 10*time.Second)
	// The page counts every ghost that leaves its margin, sampling its
	// state every 10 ms (frames come at most every 50 ms).
	eval[any](t, page, `(() => { const ids = () => new Set(Object.keys(window.readtag.state().ghosts));
		window.__swaps = 0; window.__shown = 0; let prev = ids();
		window.__watch = setInterval(() => { const now = ids(); window.__shown = Math.max(window.__shown, now.size);
			for (const id of prev) if (!now.has(id)) window.__swaps++;
			prev = now }, 10); return true })()`)
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range rounds {
		<-tick.C
		jitter()
	}
	elapsed := time.Since(start)
	swaps := eval[int](t, page, `(() => { clearInterval(window.__watch); return window.__swaps })()`)
	shown := eval[int](t, page, `window.__shown`)
	// As in TestCrowdJitterKeepsViews: the latest movers' places (24/4),
	// each taken over at most once a second, plus one round of them told
	// before the count started.
	limit := 24 / 4 * (int(elapsed/time.Second) + 2)
	t.Logf("%d readers jittering for %v: the still reader's page showed up to %d ghosts and saw %d swapped out", n, elapsed.Round(time.Millisecond), shown, swaps)
	if swaps > limit {
		t.Errorf("the page saw %d ghosts swapped out in %v; want at most %d (its latest movers')", swaps, elapsed.Round(time.Millisecond), limit)
	}
}
