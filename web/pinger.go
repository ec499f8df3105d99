package web

import (
	"sync"
	"time"
)

// pinger pings every WebSocket once per interval from one goroutine,
// instead of a ticker per socket: the sockets are spread over buckets, and
// each tick queues a ping into the outboxes of one bucket (the socket's
// writer sends it), so pings are spread evenly over the interval.
type pinger struct {
	tick time.Duration
	quit chan struct{}

	mu      sync.Mutex
	buckets []map[*outbox]struct{}
	next    int // the bucket for the next socket, round-robin
	due     []*outbox
}

// newPinger starts a pinger; stop ends it.
func newPinger(interval time.Duration) *pinger {
	// One bucket per 100 ms of the interval, 1 to 50.
	n := min(max(int(interval/(100*time.Millisecond)), 1), 50)
	p := &pinger{tick: interval / time.Duration(n), quit: make(chan struct{}), buckets: make([]map[*outbox]struct{}, n)}
	for i := range p.buckets {
		p.buckets[i] = make(map[*outbox]struct{})
	}
	go p.run()
	return p
}

func (p *pinger) add(ob *outbox) {
	p.mu.Lock()
	ob.bucket = int32(p.next)
	p.buckets[p.next][ob] = struct{}{}
	p.next = (p.next + 1) % len(p.buckets)
	p.mu.Unlock()
}

func (p *pinger) remove(ob *outbox) {
	p.mu.Lock()
	delete(p.buckets[ob.bucket], ob)
	p.mu.Unlock()
}

func (p *pinger) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
}

func (p *pinger) run() {
	t := time.NewTicker(p.tick)
	defer t.Stop()
	n := int64(len(p.buckets))
	last := time.Now().UnixNano() / int64(p.tick) // the last slot swept
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			// Slots follow the clock, not the ticks received: a late or
			// dropped tick (a busy machine) is made up by sweeping every
			// bucket it skipped, so none waits longer than the interval.
			slot := now.UnixNano() / int64(p.tick)
			last = max(last, slot-n) // at most every bucket once
			for last < slot {
				last++
				p.sweep(int(last % n))
			}
		}
	}
}

// sweep queues a ping into every outbox of bucket b.
func (p *pinger) sweep(b int) {
	p.mu.Lock()
	due := p.due[:0]
	for ob := range p.buckets[b] {
		due = append(due, ob)
	}
	p.mu.Unlock()
	for _, ob := range due {
		ob.pingDue()
	}
	clear(due)
	p.due = due
}
