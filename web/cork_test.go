package web

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// pipeConn is a trackedConn over one end of net.Pipe, and what the other
// end receives, one entry per write that reached it (net.Pipe hands each
// write to one read when the reader's buffer is large enough).
func pipeConn(t *testing.T) (*trackedConn, func() [][]byte) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	var (
		mu     sync.Mutex
		chunks [][]byte
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 1<<20)
		for {
			n, err := b.Read(buf)
			if n > 0 {
				mu.Lock()
				chunks = append(chunks, bytes.Clone(buf[:n]))
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return &trackedConn{Conn: a}, func() [][]byte {
		a.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return chunks
	}
}

func TestCorkGathersWritesIntoOne(t *testing.T) {
	tc, received := pipeConn(t)
	tc.cork()
	for _, s := range []string{"one ", "two ", "three"} {
		if n, err := tc.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("corked write of %q: %d, %v", s, n, err)
		}
	}
	if err := tc.uncork(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Write([]byte(" after")); err != nil { // uncorked: straight through
		t.Fatal(err)
	}
	got := received()
	if len(got) != 2 || string(got[0]) != "one two three" || string(got[1]) != " after" {
		t.Fatalf("writes that reached the peer: %q, want [\"one two three\" \" after\"]", got)
	}
	if tc.wbuf != nil {
		t.Fatal("an uncorked connection still holds a buffer")
	}
}

// A write from another goroutine while corked (a pong from the reading
// goroutine) joins the gathered bytes in the order written: nothing
// written before it is overtaken.
func TestCorkKeepsOrderAcrossGoroutines(t *testing.T) {
	tc, received := pipeConn(t)
	tc.cork()
	_, _ = tc.Write([]byte("frame1|"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = tc.Write([]byte("pong|"))
	}()
	<-done
	_, _ = tc.Write([]byte("frame2|"))
	if err := tc.uncork(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := bytes.Join(received(), nil)
	if string(got) != "frame1|pong|frame2|" {
		t.Fatalf("peer got %q", got)
	}
}

// A corked connection writes out once it has gathered corkFlushAt bytes,
// so a batch of large frames never grows one buffer without bound.
func TestCorkFlushesLargeBatches(t *testing.T) {
	tc, received := pipeConn(t)
	tc.cork()
	frame := bytes.Repeat([]byte("x"), 4<<10)
	total := 0
	for total < 3*corkFlushAt {
		if _, err := tc.Write(frame); err != nil {
			t.Fatal(err)
		}
		total += len(frame)
		if cap(*tc.wbuf) > 2*corkFlushAt {
			t.Fatalf("corked buffer grew to %d bytes", cap(*tc.wbuf))
		}
	}
	if err := tc.uncork(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := received()
	n := 0
	for _, c := range got {
		n += len(c)
	}
	if n != total || len(got) < 3 || len(got) > 4 {
		t.Fatalf("peer got %d bytes in %d writes, want %d bytes in 3-4", n, len(got), total)
	}
}

// A failed gathered write is reported by uncork.
func TestUncorkReportsWriteFailure(t *testing.T) {
	tc, received := pipeConn(t)
	tc.cork()
	_, _ = tc.Write([]byte("lost"))
	received() // closes the connection
	if err := tc.uncork(time.Now().Add(time.Second)); err == nil {
		t.Fatal("uncork on a closed connection reported no error")
	}
}
