package memtrim

import (
	"runtime"
	"testing"
)

func TestTrimsOnceWhenQuietWithMuchFree(t *testing.T) {
	st := stats{cycles: 5, free: 100 << 20}
	frees := 0
	tr := &trimmer{read: func() stats { return st }, free: func() { frees++; st.cycles++; st.free = 0 }, last: 4}

	if tr.check() { // a collection ran since the last check: busy
		t.Fatal("trimmed a process that collected during the interval")
	}
	st.free = 100 << 20
	if !tr.check() || frees != 1 { // quiet, much free
		t.Fatalf("quiet with 100 MiB free: trimmed %d times, want 1", frees)
	}
	st.free = 100 << 20
	if tr.check() || frees != 1 { // still quiet: not again
		t.Fatal("trimmed twice without the process collecting in between")
	}
	st.cycles++ // the process collects on its own: busy again
	if tr.check() {
		t.Fatal("trimmed in a busy interval")
	}
	if !tr.check() || frees != 2 { // then quiet again
		t.Fatalf("quiet again after activity: %d trims, want 2", frees)
	}
}

func TestNoTrimForLittleFree(t *testing.T) {
	st := stats{cycles: 1, free: MinFree - 1}
	tr := &trimmer{read: func() stats { return st }, free: func() { t.Fatal("trimmed") }, last: 1}
	if tr.check() {
		t.Fatal("trimmed with less than MinFree free")
	}
}

func TestReadsTheRuntime(t *testing.T) {
	before := read().cycles
	runtime.GC()
	if after := read().cycles; after <= before {
		t.Fatalf("collections: %d before runtime.GC, %d after", before, after)
	}
}
