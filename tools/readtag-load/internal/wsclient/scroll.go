package wsclient

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
)

// A scroller sends the scrolls of many connections from one goroutine.
// A goroutine and a timer per connection cost a wakeup of the scheduler per
// scroll, which at 25,000 scrolls a second took a tenth of the tool's CPU
// from the machine the server runs on. The scroller keeps its connections
// in a heap by next send time and, each time it wakes, sends every scroll
// due within the next scrollSlack, so that one wakeup serves many sends.
//
// Each connection still scrolls at the plan's rate from its own random
// phase, and every scroll encodes the time it is actually written, so
// early sends within the slack change no latency sample. A write that
// blocks (a server that stopped reading for long enough to fill the socket
// buffer, tens of thousands of scrolls) holds up this scroller's other
// connections until the write deadline; the engine runs several.
type scroller struct {
	e      *Engine
	period time.Duration

	mu      sync.Mutex
	pending []*conn       // to add to the heap
	wake    chan struct{} // cap 1: pending grew
}

// scrollSlack is how early a scroll may go out so that it shares a wakeup.
const scrollSlack = time.Millisecond

// nScrollers is how many scrollers an engine runs (both cores can write).
const nScrollers = 2

func newScroller(e *Engine, rate float64) *scroller {
	return &scroller{e: e, period: time.Duration(float64(time.Second) / rate), wake: make(chan struct{}, 1)}
}

// add starts scrolling c, from a random phase so that a thousand readers do
// not send in lockstep.
func (s *scroller) add(c *conn) {
	s.mu.Lock()
	s.pending = append(s.pending, c)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type scrollItem struct {
	next time.Time
	c    *conn
}

type scrollHeap []scrollItem

func (h scrollHeap) Len() int           { return len(h) }
func (h scrollHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h scrollHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scrollHeap) Push(x any)        { *h = append(*h, x.(scrollItem)) }
func (h *scrollHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// run sends scrolls until the engine stops.
func (s *scroller) run() {
	var h scrollHeap
	var taken []*conn
	buf := make([]byte, 0, 128)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		taken, s.pending = s.pending, taken[:0]
		s.mu.Unlock()
		if len(taken) > 0 {
			now := time.Now()
			for _, c := range taken {
				heap.Push(&h, scrollItem{next: now.Add(rand.N(s.period)), c: c})
			}
			clear(taken)
		}
		for len(h) > 0 {
			now := time.Now()
			it := &h[0]
			if it.next.Sub(now) > scrollSlack {
				break
			}
			if !s.send(it.c, now, &buf) {
				heap.Pop(&h)
				continue
			}
			// Keep the average rate; after a stall, skip rather than burst
			// (a burst could trip the server's 50 frames/s limit).
			it.next = it.next.Add(s.period)
			if now := time.Now(); !it.next.After(now) {
				it.next = now.Add(s.period)
			}
			heap.Fix(&h, 0)
		}
		wait := time.Hour
		if len(h) > 0 {
			wait = time.Until(h[0].next)
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.e.scrollStop:
			return
		}
	}
}

// send writes one scroll for c and counts it; false means c scrolls no more.
func (s *scroller) send(c *conn, now time.Time, buf *[]byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	// The frame goes after the payload in buf: the payload is what counts.
	b := protocol.AppendScroll((*buf)[:0], protocol.PositionFor(now.UnixMilli()))
	fr := appendFrame(b[len(b):], opText, b)
	*buf = b[:0]
	if err := c.sock.write(fr, true); err != nil {
		c.sock.cut() // the read side sees the end and why
		return false
	}
	measuring := s.e.measuring.Load()
	sh := c.shard
	sh.mu.Lock()
	sh.st.Total.FramesSent++
	sh.st.Total.BytesSent += int64(len(b))
	if measuring {
		sh.st.Window.FramesSent++
		sh.st.Window.BytesSent += int64(len(b))
	}
	sh.mu.Unlock()
	return true
}
