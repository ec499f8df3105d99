package actors

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readtag/readtag"
)

func TestCrowdMode(t *testing.T) {
	p, _ := newPresence(t, Config{CrowdThreshold: 8, CrowdVisible: 4})
	var clients []*client
	var sessions []readtag.Session
	// Readers at 0.05, 0.15, …, 0.95: ten of them, past the threshold of 8.
	for i := range 10 {
		c, s := mustJoin(t, p, "post", fmt.Sprint("r", i))
		clients = append(clients, c)
		sessions = append(sessions, s)
	}
	for i, s := range sessions {
		s.Scroll(float64(i*10+5) / 100)
	}
	// Everyone is shown 4 readers: the latest mover and the nearest others.
	// r5 (at 0.55) has r4 and r6 nearest, whoever moved last. The ten
	// scrolls reach the room by ten independent paths, in any order: wait
	// until r5's view and the bands show all of them.
	wantBands := func(bands []int) bool {
		sum := 0
		for i, n := range bands {
			sum += n
			if n > 0 && (i-2)%5 != 0 { // 0.05 is band 2, 0.15 band 7, …
				return false
			}
		}
		return sum == 10
	}
	eventually(t, "r5 to see four readers incl. its neighbours, and the bands everyone", func() bool {
		v := clients[5].view()
		clients[5].mu.Lock()
		total, bands := clients[5].total, clients[5].bands
		clients[5].mu.Unlock()
		return len(v) == 4 && slices.Contains(v, "r4@0.45") && slices.Contains(v, "r6@0.65") &&
			total == 10 && len(bands) == bandCount && wantBands(bands)
	})
	// Each connection gets its crowd welcome by its own path: once a client
	// has had a crowd update (which follows the welcome), it shows at most 4.
	for i, c := range clients {
		eventually(t, fmt.Sprintf("r%d to be in crowd mode", i), func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.total == 10
		})
		if n := len(c.view()); n > 4 {
			t.Errorf("r%d is shown %d readers in crowd mode, want at most 4", i, n)
		}
	}

	// A mover far away becomes visible to r5 as the latest mover.
	sessions[0].Scroll(0.01)
	eventually(t, "r0, the latest mover, to be shown to r5", func() bool {
		return slices.Contains(clients[5].view(), "r0@0.01")
	})
	// Crowd moves carry the live position too (readtag.Move.Live).
	sessions[0].Scroll(0.02)
	eventually(t, "r0's next move to reach r5 with its live position", func() bool {
		c := clients[5]
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.last {
			if m.ID == "r0" && m.Position == 0.02 && m.Live != nil && m.Latest() == 0.02 {
				return true
			}
		}
		return false
	})
	sessions[0].Scroll(0.01) // back where the rest of the test expects r0
	eventually(t, "r0 back at 0.01 for r5", func() bool {
		return slices.Contains(clients[5].view(), "r0@0.01")
	})

	// Shrinking below three quarters of the threshold (6) welcomes everyone
	// again with the whole room.
	stay := []int{0, 2, 3, 4, 5}
	for _, i := range []int{1, 6, 7, 8, 9} {
		sessions[i].Leave()
	}
	for _, i := range stay {
		var want []string
		for _, j := range stay {
			if j == i {
				continue
			}
			pos := float64(j*10+5) / 100
			if j == 0 {
				pos = 0.01
			}
			want = append(want, fmt.Sprintf("r%d@%g", j, pos))
		}
		wantView(t, clients[i], want...)
		// The repeated welcome gives the reader its own latest position
		// (the crowd welcome came before any scroll, at 0). The view above
		// may already be right in crowd mode (4 others, 4 shown), so wait
		// for the welcome itself.
		own := float64(i*10+5) / 100
		if i == 0 {
			own = 0.01
		}
		eventually(t, fmt.Sprintf("r%d's repeated welcome with its position %g", i, own), func() bool {
			clients[i].mu.Lock()
			defer clients[i].mu.Unlock()
			return clients[i].you.ID == fmt.Sprint("r", i) && clients[i].you.Position == own
		})
	}
}

// A latest mover keeps its place for recentStay; the newest of the movers
// since then waits and takes the place once it has been held that long, and
// one who left never does.
func TestRecentMoversStay(t *testing.T) {
	r := benchCrowdRoom(3)
	r.sys.cfg.CrowdVisible = 4 // one place
	var ids []string
	for _, m := range r.crowd.order {
		ids = append(ids, m.reader.ID)
	}
	check := func(step string, places, waiting []string) {
		t.Helper()
		var got []string
		for _, e := range r.crowd.recent {
			got = append(got, e.id)
		}
		if !slices.Equal(got, places) || !slices.Equal(r.crowd.waiting, waiting) {
			t.Fatalf("%s: places %v, waiting %v; want %v, %v", step, got, r.crowd.waiting, places, waiting)
		}
	}
	age := func() { r.crowd.recent[0].since = r.crowd.recent[0].since.Add(-recentStay) }
	r.noteMover(ids[0])
	r.noteMover(ids[1])
	r.noteMover(ids[2])
	check("three movers", ids[:1], ids[2:])
	r.promoteMovers()
	check("place held briefly", ids[:1], ids[2:])
	age()
	r.promoteMovers()
	check("place held for recentStay", ids[2:], nil)
	r.noteMover(ids[1])
	delete(r.members, ids[1])
	age()
	r.promoteMovers()
	check("the waiting mover left", ids[2:], nil)
}

// A crowd tick's frames go out in turns: each reader is served in exactly
// one turn of a full round, the turns share the readers evenly, and a reader
// whose view did not change still gets the new bands in its turn.
func TestCrowdTurns(t *testing.T) {
	const n, turns = 1000, 4
	r := benchCrowdRoom(n)
	for i, m := range r.crowd.order {
		m.slot = uint32(i)
	}
	served := make(map[*member]int)
	perTurn := make([]int, turns)
	// Everyone moves: every view changes.
	for _, m := range r.members {
		m.reader.Position = min(1, m.reader.Position+0.001)
	}
	for turn := range turns {
		r.crowdUpdates(turn, turns, func(m *member, _ readtag.Crowd) {
			served[m]++
			perTurn[turn]++
		})
	}
	if len(served) != n {
		t.Fatalf("a round served %d readers, want all %d", len(served), n)
	}
	for m, k := range served {
		if k != 1 {
			t.Fatalf("reader %s served %d times in one round", m.reader.ID, k)
		}
	}
	for turn, k := range perTurn {
		if k != n/turns {
			t.Errorf("turn %d served %d readers, want %d", turn, k, n/turns)
		}
	}

	// Nobody moves, one reader leaves its band: only the bands changed
	// for most, and each reader still gets them once, in its own turn.
	var mover *member
	for _, m := range r.crowd.order {
		if m.reader.Position < 0.5 {
			mover = m
			break
		}
	}
	mover.reader.Position += 0.5
	clear(served)
	// Within bandsEvery of the last new bands, a change of the bands alone
	// is held back: only the readers whose view changed are served (with
	// the bands they had), and the room says it holds the new ones.
	held := r.crowd.lastBands
	r.crowd.bandsOut = time.Now().Add(time.Hour) // as if the bands had just gone out, however slow this run
	for turn := range turns {
		r.crowdUpdates(turn, turns, func(m *member, u readtag.Crowd) {
			if len(u.Join)+len(u.Leave)+len(u.Moves) == 0 || !slices.Equal(u.Bands, held) {
				t.Fatalf("reader %s served new bands within bandsEvery of the last", m.reader.ID)
			}
			served[m]++
		})
	}
	if len(served) > 3*r.sys.cfg.CrowdVisible {
		t.Fatalf("%d readers served for one reader's move", len(served))
	}
	clear(served)
	if !r.crowd.bandsHeld {
		t.Fatal("the room does not hold the changed bands")
	}
	r.crowd.bandsOut = time.Time{} // as if bandsEvery had passed
	for turn := range turns {
		r.crowdUpdates(turn, turns, func(m *member, u readtag.Crowd) {
			if !slices.Equal(u.Bands, r.crowd.lastBands) {
				t.Errorf("reader %s got stale bands", m.reader.ID)
			}
			served[m]++
		})
	}
	if len(served) != n {
		t.Fatalf("a round after a band change served %d readers, want all %d", len(served), n)
	}
	// And a round with no change at all serves nobody.
	for turn := range turns {
		r.crowdUpdates(turn, turns, func(m *member, _ readtag.Crowd) {
			t.Fatalf("reader %s served with nothing changed", m.reader.ID)
		})
	}
}

// While the node's socket writers are behind (Presence.SetBacklog reports
// more than turnBacklog waiting), a crowd room holds its turns: no crowd
// frame goes out. Nothing is lost: once the writers catch up, the next
// turn carries the latest positions. And a hold is bounded: with the
// writers behind for good, the turn still goes out after at most a tick.
func TestCrowdTurnsWaitForWriters(t *testing.T) {
	p, _ := newPresence(t, Config{CrowdThreshold: 4, CrowdVisible: 2})
	p.sys.holdMax.Store(int64(time.Hour)) // the first part holds until the backlog clears
	var clients []*client
	var sessions []readtag.Session
	for i := range 5 {
		c, s := mustJoin(t, p, "post", fmt.Sprint("r", i))
		clients = append(clients, c)
		sessions = append(sessions, s)
	}
	sessions[0].Scroll(0.5)
	eventually(t, "r1 to see r0, the latest mover, at 0.5", func() bool {
		return slices.Contains(clients[1].view(), "r0@0.5")
	})

	var backlog, asked atomic.Int64
	backlog.Store(turnBacklog + 1)
	p.SetBacklog(func() int { asked.Add(1); return int(backlog.Load()) })
	updates := func() int {
		clients[1].mu.Lock()
		defer clients[1].mu.Unlock()
		return clients[1].crowds
	}
	sessions[0].Scroll(0.9)
	// The room looks at the backlog for each turn due; once it has looked
	// (and so finished any turn it took before SetBacklog), no crowd frame
	// goes out while it holds.
	eventually(t, "the room to look at the backlog", func() bool { return asked.Load() >= 1 })
	before, looked := updates(), asked.Load()
	eventually(t, "the room to hold two more turns", func() bool { return asked.Load() >= looked+2 })
	if n := updates(); n != before {
		t.Fatalf("r1 got %d crowd frames while the writers were behind", n-before)
	}
	if slices.Contains(clients[1].view(), "r0@0.9") {
		t.Fatal("r0's move went out while the writers were behind")
	}
	backlog.Store(0)
	eventually(t, "r0's move to reach r1 once the writers caught up", func() bool {
		return slices.Contains(clients[1].view(), "r0@0.9")
	})

	// Behind for good: held turns still go out, after at most holdMax.
	backlog.Store(1 << 20)
	p.sys.holdMax.Store(0) // a tick
	sessions[0].Scroll(0.1)
	eventually(t, "r0's move to reach r1 although the writers stay behind", func() bool {
		return slices.Contains(clients[1].view(), "r0@0.1")
	})
}

// A crowd view is sticky: a reader shown stays while it is within
// stickyMargin of the nearest readers' edge, and makes way once another is
// nearer by more than that, or once it leaves.
func TestCrowdViewSticky(t *testing.T) {
	r := benchCrowdRoom(7)
	r.sys.cfg.CrowdVisible = 4
	ms := slices.Clone(r.crowd.order)
	m, a, b, c, d, e, f := ms[0], ms[1], ms[2], ms[3], ms[4], ms[5], ms[6]
	for o, p := range map[*member]float64{m: 0.5, a: 0.51, b: 0.52, c: 0.53, d: 0.54, e: 0.9, f: 0.95} {
		o.reader.Position = p
	}
	m.seen = nil
	look := func(step string, want ...*member) {
		t.Helper()
		order := r.byPosition()
		r.setOrder(order)
		vis := r.visible(order, m, nil, true, nil)
		m.seen = vis
		var got, wantIDs []string
		for _, s := range vis {
			got = append(got, s.m.reader.ID)
		}
		for _, o := range want {
			wantIDs = append(wantIDs, o.reader.ID)
		}
		slices.Sort(got)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("%s: shown %v, want %v", step, got, wantIDs)
		}
	}
	look("the nearest four", a, b, c, d)
	e.reader.Position = 0.5 // nearer than d by 0.04: not clearly
	look("a newcomer barely nearer", a, b, c, d)
	d.reader.Position = 0.6 // 0.07 past the nearest four's edge (c, 0.03)
	look("a shown reader clearly farther", a, b, c, e)
	delete(r.members, a.reader.ID)
	look("a shown reader left", b, c, e, d)
}

// byPosition's merge of the readers who moved gives exactly the order a
// full sort gives, through moves (ties included), joins and leaves.
func TestByPositionMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	r := &room{members: make(map[string]*member)}
	next := 0
	join := func() {
		id := fmt.Sprintf("r%d", next)
		// Positions from a few values, so that many readers tie.
		r.members[id] = &member{reader: readtag.Reader{ID: id, Position: float64(rng.IntN(20)) / 20}, seq: uint32(rng.IntN(1000))}
		r.membership++
		next++
	}
	for range 300 {
		join()
	}
	for round := range 500 {
		switch {
		case round%50 == 49:
			join()
		case round%70 == 69:
			for id := range r.members {
				delete(r.members, id)
				r.membership++
				break
			}
		}
		for _, m := range r.members {
			if rng.IntN(10) == 0 {
				m.reader.Position = float64(rng.IntN(20)) / 20
			}
		}
		got := r.byPosition()
		want := slices.Collect(maps.Values(r.members))
		slices.SortFunc(want, func(a, b *member) int {
			return posKey{pos: a.reader.Position, seq: a.seq}.compare(posKey{pos: b.reader.Position, seq: b.seq})
		})
		if len(got) != len(want) {
			t.Fatalf("round %d: %d members in the order, want %d", round, len(got), len(want))
		}
		for i := range got {
			// Equal keys may come in either order only if the readers
			// are the same reader: seq ties are broken by nothing, so
			// compare the keys, and that each member is there once.
			if got[i].reader.Position != want[i].reader.Position || got[i].seq != want[i].seq {
				t.Fatalf("round %d: order differs at %d: %v/%d, want %v/%d", round, i,
					got[i].reader.Position, got[i].seq, want[i].reader.Position, want[i].seq)
			}
			if got[i].pmark != r.crowd.present {
				t.Fatalf("round %d: %s not marked present", round, got[i].reader.ID)
			}
		}
		r.setOrder(got)
	}
}

// A room that leaves crowd mode lets its sort's arrays go: they pointed at
// members, some of whom left, and a room that shrank may stay small for
// good (issue 24: the keys were a reader's 45 bytes of heap after the mode).
func TestCrowdLeftHoldsNoSortKeys(t *testing.T) {
	r := benchCrowdRoom(100)
	for _, m := range r.members {
		m.node = "b" // no socket here: checkMode welcomes only local readers
	}
	r.local = 0
	r.setOrder(r.byPosition())
	for _, m := range r.members {
		r.noteMover(m.reader.ID)
		m.reader.Position = 1 - m.reader.Position
	}
	r.membership++ // a full sort, then a merge of the movers
	r.setOrder(r.byPosition())
	r.setOrder(r.byPosition())
	if len(r.crowd.keys) == 0 {
		t.Fatal("no keys in crowd mode")
	}
	for id := range r.members {
		if len(r.members) < 40 {
			break
		}
		delete(r.members, id)
		r.membership++
	}
	r.checkMode(nil)
	if r.crowd.on {
		t.Fatal("still in crowd mode with 39 readers of 64")
	}
	if r.crowd.keys != nil || r.crowd.moved != nil || r.crowd.spareOrder != nil || r.crowd.recentBuf != nil || r.crowd.nearBuf != nil {
		t.Errorf("out of crowd mode, the room holds keys %d, moved %d, spare order %d, recent %d, near %d",
			cap(r.crowd.keys), cap(r.crowd.moved), cap(r.crowd.spareOrder), cap(r.crowd.recentBuf), cap(r.crowd.nearBuf))
	}
	for range 40 { // and back: the next sort starts afresh
		id := fmt.Sprintf("n%d", r.membership)
		r.members[id] = &member{reader: readtag.Reader{ID: id}, node: "b"}
		r.membership++
	}
	r.checkMode(nil)
	if !r.crowd.on || len(r.crowd.order) != len(r.members) {
		t.Errorf("back in crowd mode %v with %d of %d members in order", r.crowd.on, len(r.crowd.order), len(r.members))
	}
}

// A crowd reader holds one array for its view, of CrowdVisible places:
// append's growth gave it 32 places for 24, and every reader served a tick
// kept a second one, its previous view (issue 24: 1 KiB of each crowd
// reader's heap, twice that in RSS with the collector's headroom).
func TestCrowdViewOneArrayPerReader(t *testing.T) {
	r := benchCrowdRoom(0)
	k := r.sys.cfg.CrowdVisible
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		id := fmt.Sprintf("r%d", i)
		m := &member{reader: readtag.Reader{ID: id, Position: rng.Float64()}, crowdSeat: crowdSeat{slot: uint32(i)}}
		r.members[id] = m
		r.membership++
		r.crowdJoin(m)
	}
	for tick := range 4 {
		for _, m := range r.members {
			if rng.IntN(4) == 0 {
				m.reader.Position = rng.Float64()
				r.noteMover(m.reader.ID)
			}
		}
		r.touch()
		r.crowdUpdates(tick%2, 2, func(*member, readtag.Crowd) {})
	}
	for id, m := range r.members {
		if len(m.seen) != k || cap(m.seen) != k {
			t.Fatalf("%s is shown %d readers in an array of %d places, want %d in %d", id, len(m.seen), cap(m.seen), k, k)
		}
	}
}
