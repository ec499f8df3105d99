package web

import (
	"sync/atomic"
	"testing"
	"time"
)

// Every socket the pinger knows gets pings through its outbox's writer;
// one removed gets none, and a closing outbox none either.
func TestPingerPingsEveryOutbox(t *testing.T) {
	p := newPinger(300 * time.Millisecond) // 3 buckets
	defer p.stop()
	obs := make([]*outbox, 10)
	pings := make([]atomic.Int32, len(obs))
	for i := range obs {
		o := newOutbox(8, nil)
		obs[i] = o
		o.write = func() {
			for {
				w, ok := o.next()
				if !ok {
					return
				}
				if w.ping {
					pings[i].Add(1)
				}
				if w.closing {
					o.finish()
					return
				}
			}
		}
		p.add(obs[i])
	}
	p.remove(obs[0])
	obs[1].close(closeNormal, "bye")
	all := func() bool {
		for i := 2; i < len(obs); i++ {
			if pings[i].Load() < 2 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !all(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("some socket had fewer than two pings after 30 s")
		}
	}
	if n := pings[0].Load() + pings[1].Load(); n != 0 {
		t.Errorf("%d pings to a removed or closed socket", n)
	}
	for _, o := range obs {
		o.stop()
	}
}
