package web

import (
	"sync"
	"testing"

	"github.com/readtag/readtag"
)

// benchWriter makes o's writer drain without a socket, calling wrote for
// every item written.
func benchWriter(o *outbox, wrote func()) {
	o.write = func() {
		for {
			w, ok := o.next()
			if !ok {
				return
			}
			for range w.batch {
				wrote()
			}
			o.done(w.batch)
			if w.closing {
				o.finish()
				return
			}
		}
	}
}

// BenchmarkOutboxIdleWake is an idle reader getting one frame: the push
// starts a writer goroutine, which takes the frame and exits (the on-demand
// writer's whole cost per frame, where a reader gets few).
func BenchmarkOutboxIdleWake(b *testing.B) {
	o := newOutbox(256, nil)
	done := make(chan struct{}, 1)
	benchWriter(o, func() { done <- struct{}{} })
	r := readtag.Reader{ID: "abcdefghijklm", Color: "#e5484d", Position: 0.5}
	b.ReportAllocs()
	for b.Loop() {
		o.Join(r)
		<-done
	}
	o.stop()
}

// BenchmarkOutboxBusy is a busy reader: moves pushed back to back while the
// writer drains, so pushes merge into a queued frame or find a writer
// already running.
func BenchmarkOutboxBusy(b *testing.B) {
	o := newOutbox(256, nil)
	benchWriter(o, func() {})
	moves := []readtag.Move{{ID: "abcdefghijklm", Position: 0.25}, {ID: "bcdefghijklmn", Position: 0.75}}
	b.ReportAllocs()
	for b.Loop() {
		o.Moves(moves)
	}
	o.stop()
}

// BenchmarkPingerSweep is one interval of the shared pinger over 15,000
// idle sockets: every outbox gets a ping and a writer run.
func BenchmarkPingerSweep(b *testing.B) {
	var wg sync.WaitGroup
	obs := make([]*outbox, 15000)
	for i := range obs {
		o := newOutbox(256, nil)
		obs[i] = o
		o.write = func() {
			for {
				w, ok := o.next()
				if !ok {
					return
				}
				if w.ping {
					wg.Done()
				}
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		wg.Add(len(obs))
		for _, o := range obs {
			o.pingDue()
		}
		wg.Wait()
	}
}
