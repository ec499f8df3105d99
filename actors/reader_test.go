package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// movedLog records the positions a reader reports, in order.
type movedLog struct{ got chan float64 }

func (l *movedLog) Receive(c *actor.Context) {
	if m, ok := c.Message().(moved); ok {
		l.got <- m.position
	}
}

// A scroll overtaken by a newer one (sent to the conn before the welcome,
// forwarded after a newer one went straight to the reader) is dropped;
// unnumbered scrolls are always taken.
func TestReaderDropsOvertakenScroll(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &movedLog{got: make(chan float64, 8)}
	room := e.Spawn(func() actor.Receiver { return l }, kindRoom, actor.WithID("test"))
	pid := e.Spawn(newReader("x", room), kindReader, actor.WithID("x"))
	t.Cleanup(func() { <-e.Poison(pid).Done(); <-e.Poison(room).Done() })
	for _, s := range []scroll{{position: 0.5, seq: 2}, {position: 0.3, seq: 1}, {position: 0.7, seq: 3}, {position: 0.1}} {
		e.Send(pid, s)
	}
	var got []float64
	deadline := time.After(5 * time.Second)
	for len(got) < 3 {
		select {
		case p := <-l.got:
			got = append(got, p)
		case <-deadline:
			t.Fatalf("moved %v, want [0.5 0.7 0.1]", got)
		}
	}
	if want := []float64{0.5, 0.7, 0.1}; !slices.Equal(got, want) {
		t.Errorf("moved %v, want %v", got, want)
	}
}
