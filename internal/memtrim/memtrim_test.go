package memtrim

import "testing"

var sink []byte

func TestTrimsWhenQuietWithMuchFree(t *testing.T) {
	st := stats{allocs: 1000 << 20, free: 100 << 20}
	frees := 0
	tr := &trimmer{read: func() stats { return st }, free: func() { frees++; st.free = 0 }, last: 900 << 20}

	if tr.check() { // 100 MiB allocated during the interval: busy
		t.Fatal("trimmed a process that allocated as much as was free")
	}
	st.allocs += 1 << 20 // 1 MiB in an interval, 100 MiB free: quiet
	if !tr.check() || frees != 1 {
		t.Fatalf("quiet with 100 MiB free: trimmed %d times, want 1", frees)
	}
	st.allocs += 1 << 20
	if tr.check() || frees != 1 { // nothing free any more
		t.Fatal("trimmed again with nothing free")
	}
	st.allocs += 60 << 20 // busy again: garbage piles up
	st.free = 60 << 20
	if tr.check() {
		t.Fatal("trimmed in a busy interval")
	}
	if !tr.check() || frees != 2 { // then quiet again
		t.Fatalf("quiet again after activity: %d trims, want 2", frees)
	}
}

func TestNoTrimForLittleFree(t *testing.T) {
	st := stats{allocs: 1, free: MinFree - 1}
	tr := &trimmer{read: func() stats { return st }, free: func() { t.Fatal("trimmed") }, last: 1}
	if tr.check() {
		t.Fatal("trimmed with less than MinFree free")
	}
}

func TestReadsTheRuntime(t *testing.T) {
	before := read().allocs
	sink = make([]byte, 1<<20)
	if after := read().allocs; after < before+1<<20 {
		t.Fatalf("allocated bytes: %d before a 1 MiB allocation, %d after", before, after)
	}
}
