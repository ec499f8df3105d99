package actors

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/readtag/readtag"
)

// benchCrowdRoom is a room in crowd mode with n local readers, built without
// an engine: BenchmarkCrowdFlush times the room's own work per tick (views,
// diffs, bands), not Hollywood's or the sockets'.
func benchCrowdRoom(n int) *room {
	r := &room{
		sys:     &system{cfg: Config{Tick: 50e6, CrowdThreshold: 64, CrowdVisible: 24}},
		members: make(map[string]*member, n),
		index:   make(map[string]int),
		names:   make(map[string]bool),
		crowd:   crowdState{on: true},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		id := fmt.Sprintf("r%012d", i)
		m := &member{reader: readtag.Reader{ID: id, Color: palette[i%len(palette)], Name: fmt.Sprintf("Teal Otter %d", i), Position: rng.Float64()}}
		r.members[id] = m
		r.local++
	}
	r.setOrder(r.byPosition())
	for _, m := range r.members {
		m.seen = r.visible(r.crowd.order, m, nil, true, nil)
	}
	return r
}

// BenchmarkCrowdFlush is one 50 ms tick of a hot crowd-mode post: movers
// readers scroll (the 5 Hz crowd of the hot scenario moves a quarter of the
// room per tick), then the room computes every reader's update. ns/op is one
// tick; frames/op the updates handed out.
//
// turns=4 is one turn of a rolling tick of four (a 100 ms tick): the
// readers of one slot are served, the sort and the bands are the whole
// room's.
func BenchmarkCrowdFlush(b *testing.B) {
	for _, tc := range []struct{ n, turns int }{{1000, 1}, {5000, 1}, {5000, 4}} {
		n, turns := tc.n, tc.turns
		b.Run(fmt.Sprintf("N=%d/turns=%d", n, turns), func(b *testing.B) {
			r := benchCrowdRoom(n)
			for i, m := range r.crowd.order {
				m.slot = uint32(i)
			}
			ids := make([]string, 0, n)
			for id := range r.members {
				ids = append(ids, id)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			frames, turn := 0, 0
			emit := func(*member, readtag.Crowd) { frames++ }
			b.ReportAllocs()
			for b.Loop() {
				for range n / 4 / turns {
					id := ids[rng.IntN(n)]
					m := r.members[id]
					m.reader.Position = min(1, max(0, m.reader.Position+(rng.Float64()-0.5)/100))
					r.noteMover(id)
				}
				r.crowdUpdates(turn%turns, turns, emit)
				turn++
			}
			b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
		})
	}
}

// BenchmarkCrowdHot is the load tool's hot post as the room sees it
// (tools/readtag-load hot): n readers each scroll every 200 ms, at a phase
// of their own, to a position that is the scroll's send time ((ms mod
// 10,000) / 10,000, so the whole crowd stands within a few hundredths of
// the article and moves together), and each scroll reaches the room up to
// lag later. An op is one 10 ms turn of the 100 ms tick (ten turns). It
// counts what the readers are handed per op, which decides the frames'
// sizes: joins (a reader with its name, about 80 bytes), leaves and moves.
func BenchmarkCrowdHot(b *testing.B) {
	const (
		n      = 5000
		turns  = 10
		turnMS = 10
		every  = 200 // ms between a reader's scrolls (5 Hz)
		lag    = 100 // ms: the most a scroll waits before the room applies it
	)
	r := benchCrowdRoom(n)
	for i, m := range r.crowd.order {
		m.slot = uint32(i)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	type scroller struct {
		m          *member
		sent, seen int // ms: the pending scroll's send time, and when the room applies it
	}
	ss := make([]scroller, 0, n)
	for _, m := range r.members {
		s := rng.IntN(every)
		ss = append(ss, scroller{m: m, sent: s, seen: s + rng.IntN(lag)})
	}
	var joins, leaves, moves, frames int
	emit := func(_ *member, u readtag.Crowd) {
		frames++
		joins += len(u.Join)
		leaves += len(u.Leave)
		moves += len(u.Moves)
	}
	now, turn := 0, 0
	step := func() {
		now += turnMS
		for i := range ss {
			s := &ss[i]
			for s.seen <= now {
				s.m.reader.Position = float64(s.sent%10000) / 10000
				r.noteMover(s.m.reader.ID)
				s.sent += every
				s.seen = s.sent + rng.IntN(lag)
			}
		}
		r.crowdUpdates(turn%turns, turns, emit)
		turn++
	}
	for range 2 * turns * 10 { // two seconds: the views settle
		step()
	}
	joins, leaves, moves, frames = 0, 0, 0, 0
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
	b.ReportMetric(float64(joins)/float64(b.N), "joins/op")
	b.ReportMetric(float64(leaves)/float64(b.N), "leaves/op")
	b.ReportMetric(float64(moves)/float64(b.N), "moves/op")
}
