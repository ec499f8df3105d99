// Package memtrim gives memory back to the operating system once a burst
// is over.
//
// Go sets the heap's goal at each collection (twice what was live, with
// GOGC=100) and keeps the pages it used up to that goal. After a burst, a
// join storm or a crowd of readers arriving at once, the heap that was live
// in the middle of it is gone, but the goal, and the memory, stay until the
// next collection; a server at rest allocates too little to start one, so
// that is Go's forced collection, up to two minutes later. Trim checks every
// interval: when the process allocated less than Quiet bytes during it (the
// burst is over) and at least MinFree bytes since the last trim (so there
// may be that much to give back), it collects once and returns the free
// pages (debug.FreeOSMemory). A busy process is never interrupted; a quiet
// one is trimmed again only after allocating MinFree more.
package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MinFree is how much must have been allocated since the last trim for
// another to be worth its collection.
const MinFree = 32 << 20

// Quiet is the most a quiet process allocates in an interval. A server at
// rest allocates little (15,000 idle readers about 0.4 MB per 5 s, their
// pings); one serving a hot post or a storm, megabytes a second.
const Quiet = 4 << 20

// stats is what Trim reads: bytes allocated so far.
type stats struct{ allocs uint64 }

func read() stats {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return stats{}
	}
	return stats{allocs: s[0].Value.Uint64()}
}

// trimmer decides; read and free are the runtime's, replaced in tests.
type trimmer struct {
	read    func() stats
	free    func()
	last    uint64 // bytes allocated at the last check
	trimmed uint64 // bytes allocated at the last trim
}

// check runs once per interval and reports whether it trimmed.
func (t *trimmer) check() bool {
	st := t.read()
	quiet := st.allocs-t.last < Quiet
	t.last = st.allocs
	if !quiet || st.allocs-t.trimmed < MinFree {
		return false
	}
	t.free()
	t.last = t.read().allocs
	t.trimmed = t.last
	return true
}

// Run trims every interval until ctx ends; trimmed, if not nil, is called
// after each trim.
func Run(ctx context.Context, interval time.Duration, trimmed func()) {
	t := &trimmer{read: read, free: debug.FreeOSMemory}
	t.last = t.read().allocs
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if t.check() && trimmed != nil {
				trimmed()
			}
		}
	}
}
