package web_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// TestCrowdedPost puts 300 readers on one post: past the crowd threshold
// (64) each is shown at most 24 others, every frame stays under 4 KiB, and
// the density bands account for everyone.
func TestCrowdedPost(t *testing.T) {
	ts := startServer(t, nil)
	const n = 300
	var conns []*client.Conn
	for range n {
		conns = append(conns, ts.dial(t, "alpha"))
	}
	want := map[string]float64{}
	wantBands := make([]int, 50)
	for i, c := range conns {
		p := math.Round(float64(i)/n*1e4) / 1e4 // the server keeps four decimals
		want[c.You().ID] = p
		wantBands[min(49, int(p*50))]++
		if err := c.Scroll(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range conns {
		err := c.Wait(ctx, func() bool {
			// The scrolls reach the room by 300 independent paths: the
			// bands show when it has had them all.
			total, bands := c.Crowd()
			if total != n || !slices.Equal(bands, wantBands) {
				return false
			}
			for _, g := range c.Ghosts() {
				if math.Abs(g.Position-want[g.ID]) > 1e-9 {
					return false
				}
			}
			return true
		})
		if err != nil {
			total, bands := c.Crowd()
			t.Fatalf("%s: crowd total %d, bands %v: %v", c.You().ID, total, bands, err)
		}
	}
	biggest := 0
	for _, c := range conns {
		if g := len(c.Ghosts()); g > 24 {
			t.Errorf("%s is shown %d readers, want at most 24", c.You().ID, g)
		}
		for _, f := range c.Frames() {
			// The welcomes before the post became crowded list up to 63
			// readers (about 5.4 KB with names); from then on every frame
			// is bounded.
			if f.Type == "welcome" && len(f.Readers) > 24 {
				if len(f.Raw) >= 6<<10 {
					t.Errorf("a welcome of %d readers in %d bytes", len(f.Readers), len(f.Raw))
				}
				continue
			}
			biggest = max(biggest, len(f.Raw))
			if len(f.Raw) >= 4096 {
				t.Errorf("a %s frame of %d bytes", f.Type, len(f.Raw))
			}
		}
	}
	// The reader in the middle is shown readers near it: its nearest
	// neighbours, or readers it was shown before who are not clearly
	// farther (within actors' stickyMargin, 0.05, of the nearest).
	mid := conns[n/2]
	var dists []float64
	for _, g := range mid.Ghosts() {
		dists = append(dists, math.Abs(g.Position-want[mid.You().ID]))
	}
	sort.Float64s(dists)
	if near := 7.0/n + 0.05; len(dists) < 12 || dists[11] > near {
		t.Errorf("the middle reader's 12 nearest shown are up to %v away; want readers near it (≤ %v)", dists, near)
	}
	t.Logf("300 readers: largest frame %d bytes; the middle reader is shown %d readers", biggest, len(mid.Ghosts()))

	// Every writer started has run: the backlog the rooms hold their turns
	// on (Server.WritersWaiting) goes back to 0, also once all have left.
	eventually(t, "no writer waiting with the post quiet", func() bool { return ts.Web.WritersWaiting() == 0 })
	for _, c := range conns {
		c.Close()
	}
	eventually(t, "no writer waiting once everyone left", func() bool { return ts.Web.WritersWaiting() == 0 })
}

// TestCrowdViewsStayAtOnePosition joins readers who never scroll (every
// reader of a post starts at its top) to a crowded post: the readers each is
// shown are picked among many at one position, and they must not change from
// tick to tick. Nobody leaves or moves, so no crowd frame may carry a leave,
// and every reader ends up shown the same readers as a newcomer would be.
func TestCrowdViewsStayAtOnePosition(t *testing.T) {
	ts := startServer(t, func(_ *web.Config, a *actors.Config) { a.CrowdThreshold = 4; a.CrowdVisible = 3 })
	const n = 30
	var conns []*client.Conn
	for range n {
		conns = append(conns, ts.dial(t, "alpha"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range conns {
		if err := c.Wait(ctx, func() bool { total, _ := c.Crowd(); return total == n }); err != nil {
			total, _ := c.Crowd()
			t.Fatalf("%s: crowd total %d, want %d: %v", id(c), total, n, err)
		}
	}
	crowdFrames := 0
	for _, c := range conns {
		for _, f := range c.Frames() {
			if f.Type != "crowd" {
				continue
			}
			crowdFrames++
			if len(f.Leave) > 0 {
				t.Errorf("%s was told %v left; nobody left or moved", id(c), f.Leave)
			}
		}
	}
	// The earliest readers at the shared position are the ones shown: the
	// last reader to join sees the first three (itself excepted) like
	// everyone after the first four.
	want := view(conns[n-1])
	for _, c := range conns[4:] {
		if got := view(c); !slices.Equal(got, want) {
			t.Errorf("%s is shown %v, the last reader %v", id(c), got, want)
		}
	}
	t.Logf("%d readers at one position: %d crowd frames", n, crowdFrames)
}

// TestCrowdJitterKeepsViews has 100 readers jitter around one place of a
// crowded post (each scrolls to a new position within a hundredth of the
// article, 10 times a second) while one reader holds still among them, and
// counts the readers swapped out of that reader's view (each a leave, and a
// join with a name). All stand at one place, so nobody is clearly nearer
// than those it is shown: the only swaps left are the latest movers', each
// of whose places (a quarter of the view) changes at most once a second.
// With exactly the nearest shown, nearly every frame swapped some.
func TestCrowdJitterKeepsViews(t *testing.T) {
	ts := startServer(t, nil)
	const (
		n      = 100
		rounds = 30
		place  = 0.5
	)
	var conns []*client.Conn
	for range n {
		conns = append(conns, ts.dial(t, "alpha"))
	}
	obs, crowd := conns[0], conns[1:]
	rng := rand.New(rand.NewPCG(7, 8))
	jitter := func() {
		for _, c := range crowd {
			if err := c.Scroll(math.Round((place+(rng.Float64()-0.5)/50)*1e4) / 1e4); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := obs.Scroll(place); err != nil {
		t.Fatal(err)
	}
	jitter()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := obs.Wait(ctx, func() bool {
		_, bands := obs.Crowd()
		return len(bands) == 50 && bands[int(place*50)]+bands[int(place*50)-1] == n
	})
	if err != nil {
		t.Fatalf("the crowd never gathered at %v: %v", place, err)
	}
	mark, start := len(obs.Frames()), time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range rounds {
		<-tick.C
		jitter()
	}
	elapsed := time.Since(start)
	frames, swaps := 0, 0
	for _, f := range obs.Frames()[mark:] {
		if f.Type == "crowd" {
			frames++
			swaps += len(f.Leave)
		}
	}
	// The latest movers: 24/4 places, each taken over at most once a second
	// (actors' recentStay), plus one round of them told before the mark
	// that may arrive after it.
	places := 24 / 4
	limit := places * (int(elapsed/time.Second) + 2)
	t.Logf("%d readers jittering for %v: the still reader got %d crowd frames with %d swaps", n, elapsed.Round(time.Millisecond), frames, swaps)
	if swaps > limit {
		t.Errorf("the still reader saw %d readers swapped out in %v; want at most %d (its latest movers')", swaps, elapsed.Round(time.Millisecond), limit)
	}
	if frames == 0 {
		t.Error("the still reader got no crowd frame while the crowd moved")
	}
}
