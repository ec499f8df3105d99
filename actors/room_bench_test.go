package actors

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readtag/readtag"
)

// roomBenchWait bounds every wait of BenchmarkRoomTick: a lost batch fails
// the benchmark instead of hanging it.
const roomBenchWait = 10 * time.Second

// roomBenchGroup is how many readers join at a time during setup.
const roomBenchGroup = 50

// roomBenchTally is what all the fake clients of one benchmark room count
// together, with atomics only: the engine calls each client from its room's
// goroutine, and the benchmark reads the totals from its own.
type roomBenchTally struct {
	n int64 // readers in the room

	welcomed atomic.Int64 // clients welcomed at least once
	joins    atomic.Int64 // Join calls
	settled  atomic.Int64 // crowd mode: clients that saw an update counting all n readers
	batches  atomic.Int64 // Moves (or Crowd) calls
	dropped  atomic.Int64 // Drop calls: must stay 0

	// Everyone-sees-everyone mode. Every reader moves once per iteration,
	// so each move is in exactly one batch of k moves, and a batch goes to
	// all n conns when k > 1 but to the n-1 others when k == 1 (the room
	// sends the only mover nothing). Scoring a call with k entries
	// k*(n-1), plus 1 if k == 1, makes every batch worth exactly k*n*(n-1)
	// once delivered to all, so an iteration is complete exactly when the
	// score has grown by n*n*(n-1), however the moves were batched, and
	// the clients never need to look for their own id in a batch.
	score  atomic.Int64
	target atomic.Int64

	// Crowd mode: an iteration is complete when every client has seen an
	// update whose density bands put all n readers in the iteration's band.
	iter    atomic.Int64
	band    atomic.Int64
	done    atomic.Int64 // clients that saw iteration iter complete
	entries atomic.Int64 // Moves and Join entries of crowd updates

	signal chan struct{} // capacity 1: "look again"
}

func (t *roomBenchTally) poke() {
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// roomBenchClient is a cheap readtag.Client that only counts.
type roomBenchClient struct {
	t        *roomBenchTally
	welcomed atomic.Bool
	settled  bool  // crowd: saw Total == n (only the room's goroutine touches it)
	lastIter int64 // crowd: the last iteration it saw complete
}

func (c *roomBenchClient) Welcome(readtag.Reader, []readtag.Reader) {
	if !c.welcomed.Swap(true) {
		c.t.welcomed.Add(1)
	}
}

func (c *roomBenchClient) Join(readtag.Reader) { c.t.joins.Add(1) }
func (c *roomBenchClient) Leave(string)        {}
func (c *roomBenchClient) Drop(string)         { c.t.dropped.Add(1) }

func (c *roomBenchClient) Moves(moves []readtag.Move) {
	t := c.t
	t.batches.Add(1)
	k := int64(len(moves))
	score := k * (t.n - 1)
	if k == 1 {
		score++
	}
	if t.score.Add(score) == t.target.Load() {
		t.poke()
	}
}

func (c *roomBenchClient) Crowd(u readtag.Crowd) {
	t := c.t
	t.batches.Add(1)
	t.entries.Add(int64(len(u.Moves) + len(u.Join)))
	if !c.settled && int64(u.Total) == t.n {
		c.settled = true
		t.settled.Add(1)
	}
	b := t.band.Load()
	if it := t.iter.Load(); c.lastIter < it && b < int64(len(u.Bands)) && int64(u.Bands[b]) == t.n {
		c.lastIter = it
		if t.done.Add(1) == t.n {
			t.poke()
		}
	}
}

// roomBenchAwait polls cond (setup only, never timed) until it holds or
// roomBenchWait*scale passes.
func roomBenchAwait(b *testing.B, what string, scale time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(roomBenchWait * scale)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkRoomTick measures one round of a room of N readers on a real
// engine: every reader scrolls once (through its Session, conn actor and
// reader actor to the room), and the round ends when every client has been
// handed every other reader's new position. ns/op is one
// round; allocs/op counts the whole engine's allocations in it;
// deliveries/s is the positions handed to clients per second (everyone
// mode: N*(N-1) a round; crowd mode: the Moves and Join entries of crowd
// updates); batches/op is how many Moves (or Crowd) calls a round took.
//
// "everyone" raises CrowdThreshold above N so that every reader is told
// about every other (N² deliveries a round, the path the room takes below
// the threshold), with a 1 ms tick so that the round measures the engine
// rather than the timer. "crowd" keeps the default threshold (64), so N=100
// and N=1000 run in crowd mode, with the production tick of 50 ms: a crowd
// flush of 1000 readers takes longer than 1 ms, and a room whose flush
// outlasts its tick flushes again on every single move (measured with a
// 1 ms tick and N=1000: 1000 flushes and about 15 s a round), which would
// measure only that.
func BenchmarkRoomTick(b *testing.B) {
	for _, mode := range []string{"everyone", "crowd"} {
		for _, n := range []int{10, 100, 1000} {
			if mode == "crowd" && n < 64 {
				continue // below the default threshold: the same as "everyone"
			}
			tick := time.Millisecond
			if mode == "crowd" {
				tick = 50 * time.Millisecond
			}
			b.Run(fmt.Sprintf("%s/tick=%v/N=%d", mode, tick, n), func(b *testing.B) {
				benchRoomTick(b, n, mode == "crowd", tick)
			})
		}
	}
}

func benchRoomTick(b *testing.B, n int, crowd bool, tick time.Duration) {
	cfg := Config{Tick: tick}
	if !crowd {
		cfg.CrowdThreshold = math.MaxInt32
	}
	p, _ := newPresence(b, cfg)
	t := &roomBenchTally{n: int64(n), signal: make(chan struct{}, 1)}
	// Setup, not timed: everyone welcomed and told about everyone who came
	// later (everyone mode) or shown a view of the full room (crowd mode).
	// Readers join in groups of roomBenchGroup, each welcomed before the
	// next joins: a burst of 1000 joins into a crowd-mode room with a 1 ms
	// tick keeps the room busy for so long that some connections give up
	// waiting for their welcome (joinTimeout) and are dropped.
	start := time.Now()
	scale := time.Duration(1 + n/100)
	sessions := make([]readtag.Session, n)
	for i := range sessions {
		sessions[i] = p.Join("bench", readtag.Reader{ID: fmt.Sprintf("r%05d", i)}, false, &roomBenchClient{t: t})
		if joined := int64(i + 1); joined%roomBenchGroup == 0 || joined == int64(n) {
			roomBenchAwait(b, fmt.Sprintf("%d welcomes", joined), scale, func() bool { return t.welcomed.Load() == joined })
		}
	}
	if crowd {
		roomBenchAwait(b, "every client to see the full room", scale, func() bool { return t.settled.Load() == int64(n) })
	} else {
		want := int64(n * (n - 1) / 2)
		roomBenchAwait(b, fmt.Sprintf("%d joins", want), scale, func() bool { return t.joins.Load() == want })
	}
	if d := t.dropped.Load(); d > 0 {
		b.Fatalf("%d clients were dropped while joining", d)
	}
	b.Logf("setup: %d readers joined and settled in %v", n, time.Since(start).Round(time.Millisecond))
	batches0, entries0 := t.batches.Load(), t.entries.Load()

	timeout := time.NewTimer(roomBenchWait)
	defer timeout.Stop()
	complete := func() bool { return t.score.Load() == t.target.Load() }
	if crowd {
		complete = func() bool { return t.done.Load() == int64(n) }
	}
	nn := int64(n)
	var round int64
	b.ReportAllocs()
	for b.Loop() {
		round++
		// Rounds alternate between two 2 % bands (12 and 37), so every
		// scroll is a move and crosses bands; within a band readers spread.
		base := 0.241
		if round%2 == 0 {
			base = 0.741
		}
		if crowd {
			t.done.Store(0)
			t.band.Store(int64(base * 50))
			t.iter.Store(round)
		} else {
			t.target.Add(nn * nn * (nn - 1))
		}
		for i, s := range sessions {
			s.Scroll(base + 0.018*float64(i)/float64(n))
		}
		timeout.Reset(roomBenchWait)
		for !complete() {
			select {
			case <-t.signal:
			case <-timeout.C:
				b.Fatalf("round %d: not every client got every move within %v (score %d of %d, %d of %d clients done, %d dropped)",
					round, roomBenchWait, t.score.Load(), t.target.Load(), t.done.Load(), n, t.dropped.Load())
			}
		}
	}
	if d := t.dropped.Load(); d > 0 {
		b.Fatalf("%d clients were dropped", d)
	}
	rounds := float64(b.N)
	deliveries := rounds * float64(n*(n-1))
	if crowd {
		deliveries = float64(t.entries.Load() - entries0)
	}
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(t.batches.Load()-batches0)/rounds, "batches/op")
}
