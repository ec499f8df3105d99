package memtrim

import "testing"

var sink []byte

func TestTrimsOnceQuietAfterABurst(t *testing.T) {
	st := stats{allocs: 0}
	frees := 0
	tr := &trimmer{read: func() stats { return st }, free: func() { frees++ }}

	st.allocs += 500 << 20 // a burst: busy
	if tr.check() {
		t.Fatal("trimmed during a burst")
	}
	st.allocs += 1 << 20 // quiet, 501 MiB allocated since start
	if !tr.check() || frees != 1 {
		t.Fatalf("quiet after a burst: %d trims, want 1", frees)
	}
	for range 10 { // still quiet, a little allocated each time: no more
		st.allocs += 1 << 20
		if tr.check() {
			t.Fatal("trimmed again before MinFree more was allocated")
		}
	}
	st.allocs += 30 << 20 // busy again
	if tr.check() {
		t.Fatal("trimmed in a busy interval")
	}
	st.allocs += 1 << 20 // quiet, 42 MiB since the trim
	if !tr.check() || frees != 2 {
		t.Fatalf("quiet again after activity: %d trims, want 2", frees)
	}
}

func TestNoTrimBeforeMinFreeAllocated(t *testing.T) {
	st := stats{allocs: MinFree - 1}
	tr := &trimmer{read: func() stats { return st }, free: func() { t.Fatal("trimmed") }, last: MinFree - 1}
	if tr.check() {
		t.Fatal("trimmed a process that has allocated less than MinFree")
	}
}

func TestReadsTheRuntime(t *testing.T) {
	before := read().allocs
	sink = make([]byte, 1<<20)
	if after := read().allocs; after < before+1<<20 {
		t.Fatalf("allocated bytes: %d before a 1 MiB allocation, %d after", before, after)
	}
}
