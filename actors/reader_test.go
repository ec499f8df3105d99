package actors

import (
	"sync"
	"testing"

	"github.com/anthdm/hollywood/actor"
)

// wakeLog is a stand-in room that counts movesDue.
type wakeLog struct {
	mu    sync.Mutex
	wakes int
}

func (l *wakeLog) Receive(c *actor.Context) {
	if _, ok := c.Message().(movesDue); ok {
		l.mu.Lock()
		l.wakes++
		l.mu.Unlock()
	}
}

func (l *wakeLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wakes
}

// A scroll overtaken by a newer one (sent to the conn before the welcome,
// forwarded after a newer one went straight to the seat) is dropped;
// unnumbered scrolls are always taken. A seat is listed in its room's box
// once however often it changes before the room looks, and the room is
// woken once per box that was empty.
func TestSeatDropsOvertakenScroll(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &wakeLog{}
	room := e.Spawn(func() actor.Receiver { return l }, kindRoom, actor.WithID("test"))
	t.Cleanup(func() { <-e.Poison(room).Done() })
	box := &movebox{engine: e, room: room}
	st := &seat{id: "x", box: box}
	for _, s := range []struct {
		pos  float64
		seq  uint64
		want float64
	}{{0.5, 2, 0.5}, {0.3, 1, 0.5}, {0.7, 3, 0.7}, {0.1, 0, 0.1}} {
		st.scroll(s.pos, s.seq)
		st.mu.Lock()
		got := st.pos
		st.mu.Unlock()
		if got != s.want {
			t.Errorf("after scroll(%v, %d): position %v, want %v", s.pos, s.seq, got, s.want)
		}
	}
	if seats := box.take(nil); len(seats) != 1 || seats[0] != st {
		t.Fatalf("box held %d seats, want the one seat once", len(seats))
	}
	if got := st.take(); got != 0.1 {
		t.Errorf("take = %v, want 0.1", got)
	}
	st.scroll(0.2, 5) // collected: listed and the room woken again
	if seats := box.take(nil); len(seats) != 1 {
		t.Fatalf("box held %d seats after a scroll past a take, want 1", len(seats))
	}
	eventually(t, "two wakes", func() bool { return l.count() == 2 })
}

// A scroll that reaches the reader actor as a message (before the welcome,
// or while traced) lands in the seat under the same rule.
func TestReaderActorFillsSeat(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &wakeLog{}
	room := e.Spawn(func() actor.Receiver { return l }, kindRoom, actor.WithID("test"))
	st := &seat{id: "x", box: &movebox{engine: e, room: room}}
	pid := e.Spawn(newReader(st), kindReader, actor.WithID("x"))
	t.Cleanup(func() { <-e.Poison(pid).Done(); <-e.Poison(room).Done() })
	for _, s := range []scroll{{position: 0.5, seq: 2}, {position: 0.3, seq: 1}, {position: 0.7, seq: 3}} {
		e.Send(pid, s)
	}
	eventually(t, "the seat at 0.7, seq 3", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.pos == 0.7 && st.seq == 3
	})
}

// A welcomed reader's scrolls never wake its reader actor: one that
// panics on every scroll message keeps its reader in the room, moving.
func TestWelcomedScrollsSkipTheReaderActor(t *testing.T) {
	p, _ := newPresence(t, Config{})
	a, _ := mustJoin(t, p, "post", "a")
	p.sys.newReader = panicky
	_, sb := mustJoin(t, p, "post", "b")
	eventually(t, "b's seat published", func() bool { return sb.(*session).seat.Load() != nil })
	for _, pos := range []float64{0.25, 0.5, 0.75} {
		sb.Scroll(pos)
	}
	wantView(t, a, "b@0.75")
	if n := p.Stats().Panics; n != 0 {
		t.Errorf("%d panics: a welcomed reader's scroll reached its reader actor", n)
	}
}
