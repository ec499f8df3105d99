// Package memtrim gives memory back to the operating system once a burst
// is over.
//
// Go sets the heap's goal at each collection (twice what was live, with
// GOGC=100) and keeps the pages it used up to that goal. After a burst, a
// join storm or a crowd of readers arriving at once, the heap that was live
// in the middle of it is gone, but the goal, and the memory, stay until the
// next collection; a server at rest allocates too little to start one, so
// that is Go's forced collection, up to two minutes later, and the
// scavenger then returns pages slowly. Trim checks every interval: when no
// collection ran during the last interval (the process is quiet) and the
// heap holds at least MinFree bytes it does not use, it collects once and
// returns the free pages (debug.FreeOSMemory). A busy process is never
// interrupted (its collections run anyway), and a quiet one is trimmed
// once, not again until it has collected on its own.
package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MinFree is how much unused heap makes a trim worth its collection.
const MinFree = 32 << 20

// stats is what Trim reads: collections so far, and heap bytes that are
// free but not yet returned to the OS.
type stats struct{ cycles, free uint64 }

var names = []string{"/gc/cycles/total:gc-cycles", "/memory/classes/heap/free:bytes"}

func read() stats {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	var st stats
	if s[0].Value.Kind() == metrics.KindUint64 {
		st.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		st.free = s[1].Value.Uint64()
	}
	return st
}

// trimmer decides; read and free are the runtime's, replaced in tests.
type trimmer struct {
	read    func() stats
	free    func()
	last    uint64 // collections at the last check
	trimmed bool   // trimmed since the process last collected on its own
}

// check runs once per interval and reports whether it trimmed.
func (t *trimmer) check() bool {
	st := t.read()
	quiet := st.cycles == t.last
	if !quiet {
		t.trimmed = false
	}
	t.last = st.cycles
	if !quiet || t.trimmed || st.free < MinFree {
		return false
	}
	t.free()
	t.trimmed = true
	t.last = t.read().cycles // the trim's own collection is not activity
	return true
}

// Run trims every interval until ctx ends; trimmed, if not nil, is called
// with the bytes each trim found free.
func Run(ctx context.Context, interval time.Duration, trimmed func(free uint64)) {
	t := &trimmer{read: read, free: debug.FreeOSMemory}
	t.last = t.read().cycles
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
