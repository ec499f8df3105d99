// Package memtrim gives memory back to the operating system once a burst
// is over.
//
// Go sets the heap's goal at each collection (twice what was live, with
// GOGC=100) and keeps the pages it used up to that goal. After a burst, a
// join storm or a crowd of readers arriving at once, the heap that was live
// in the middle of it is gone, but the goal, and the memory, stay until the
// next collection; a server at rest allocates too little to start one, so
// that is Go's forced collection, up to two minutes later. Trim checks every
// interval: when the heap holds at least MinFree bytes it does not use and
// the process allocated less than a quarter of that during the interval
// (it is quiet: the free pages would not be needed soon), it collects once
// and returns the free pages (debug.FreeOSMemory). A busy process is never
// interrupted, and a trimmed one is trimmed again only once MinFree bytes
// are free again, that is after allocating at least that much.
package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MinFree is how much unused heap makes a trim worth its collection.
const MinFree = 32 << 20

// stats is what Trim reads: bytes allocated so far, and heap bytes that
// are free but not yet returned to the OS.
type stats struct{ allocs, free uint64 }

var names = []string{"/gc/heap/allocs:bytes", "/memory/classes/heap/free:bytes"}

func read() stats {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	var st stats
	if s[0].Value.Kind() == metrics.KindUint64 {
		st.allocs = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		st.free = s[1].Value.Uint64()
	}
	return st
}

// trimmer decides; read and free are the runtime's, replaced in tests.
type trimmer struct {
	read func() stats
	free func()
	last uint64 // bytes allocated at the last check
}

// check runs once per interval and reports whether it trimmed.
func (t *trimmer) check() bool {
	st := t.read()
	allocated := st.allocs - t.last
	t.last = st.allocs
	if st.free < MinFree || allocated >= st.free/4 {
		return false
	}
	t.free()
	t.last = t.read().allocs
	return true
}

// Run trims every interval until ctx ends; trimmed, if not nil, is called
// with the bytes each trim found free.
func Run(ctx context.Context, interval time.Duration, trimmed func(free uint64)) {
	t := &trimmer{read: read, free: debug.FreeOSMemory}
	t.last = t.read().allocs
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			free := read().free
			if t.check() && trimmed != nil {
				trimmed(free)
			}
		}
	}
}
