package actors

import (
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// sink counts scrolls (or moves) and closes done at the n-th.
type sink struct {
	n, seen int64
	done    chan struct{}
}

func (s *sink) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case scroll:
		s.seen++
		if s.seen == s.n {
			close(s.done)
		}
	}
}

// BenchmarkMessagePath measures one message from Send to Receive through
// an actor spawned bare (no middleware), through readtag's spawn helper with
// tracing off (the guard only: info level), and with tracing on at debug
// level into a discarding handler.
func BenchmarkMessagePath(b *testing.B) {
	for _, tc := range []struct {
		name  string
		level slog.Level
		bare  bool
	}{
		{name: "bare", bare: true},
		{name: "readtag-tracing-off", level: slog.LevelInfo},
		{name: "readtag-tracing-on", level: slog.LevelDebug},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := actor.NewEngine(actor.NewEngineConfig())
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tc.level}))
			sys := newSystem(e, Config{Logger: log})
			s := &sink{n: int64(b.N), done: make(chan struct{})}
			p := func() actor.Receiver { return s }
			var pid *actor.PID
			if tc.bare {
				pid = e.Spawn(p, kindReader, actor.WithID("x"), actor.WithInboxSize(inboxSize))
			} else {
				pid = sys.spawn(p, kindReader, "x", tags{post: "bench", reader: "x"})
			}
			msg := scroll{position: 0.5}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.Send(pid, msg)
			}
			<-s.done
			b.StopTimer()
			<-e.Poison(pid).Done()
		})
	}
}

// BenchmarkScroll is scrolls into a real room of 1,000 readers, each
// reader's in turn (so each finds its reader idle, as in a hot post where
// a reader scrolls every 200 ms), by the two ways a scroll takes: into the
// seat straight from the session ("seat", the way of every welcomed reader)
// and as a message through the reader actor ("reader-actor", the way while
// tracing shows the scrolls; here with the tracer itself off, to compare
// the paths alone). An op is one scroll; the benchmark ends when the room
// has collected them all.
func BenchmarkScroll(b *testing.B) {
	const readers = 1000
	for _, viaActor := range []bool{false, true} {
		name := map[bool]string{false: "seat", true: "reader-actor"}[viaActor]
		b.Run(name, func(b *testing.B) {
			p, _ := newPresence(b, Config{})
			var seats []*seat
			var sessions []readtag.Session
			for i := range readers {
				_, s := mustJoin(b, p, "bench", strconv.Itoa(i))
				eventually(b, "the session to have its seat", func() bool { return s.(*session).seat.Load() != nil })
				st := s.(*session).seat.Load()
				st.traced = viaActor // before any scroll
				seats, sessions = append(seats, st), append(sessions, s)
			}
			positions := [2]float64{0.25, 0.75} // every scroll is a move
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				sessions[i%readers].Scroll(positions[(i/readers)&1])
			}
			for i, st := range seats {
				if i >= b.N {
					break
				}
				want := positions[((b.N-1-i)/readers)&1]
				for {
					st.mu.Lock()
					done := st.pos == want && !st.due
					st.mu.Unlock()
					if done {
						break
					}
					runtime.Gosched()
				}
			}
		})
	}
}

// BenchmarkSpawnStopUnderSends is the registry under a join storm: each
// iteration spawns an actor through readtag's helper (a conn actor's life:
// spawn, one message, poison, wait for it to stop) while other goroutines
// keep sending to a room-like actor, as rooms fanning out to their readers
// do. Every Send looks the target up in Hollywood's registry and every spawn
// and stop writes it; with one RWMutex over the registry this is where a
// 10,000-reader storm queued (docs/perf/draft-storm.md).
func BenchmarkSpawnStopUnderSends(b *testing.B) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		b.Fatal(err)
	}
	sys := newSystem(e, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	busy := sys.spawn(func() actor.Receiver { return &sink{n: -1} }, kindRoom, "busy", tags{post: "busy"})
	stop := make(chan struct{})
	var senders sync.WaitGroup
	for range 4 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			msg := scroll{position: 0.5}
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 64 {
					e.Send(busy, msg)
				}
				runtime.Gosched()
			}
		}()
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		msg := scroll{position: 0.25}
		for pb.Next() {
			id := strconv.FormatInt(next.Add(1), 10)
			pid := sys.spawn(func() actor.Receiver { return &sink{n: -1} }, kindConn, id, tags{post: "bench", reader: id})
			e.Send(pid, msg)
			<-e.Poison(pid).Done()
		}
	})
	b.StopTimer()
	close(stop)
	senders.Wait()
	<-e.Poison(busy).Done()
}

// fanSink counts messages for BenchmarkFanOut across all its actors.
type fanSink struct {
	left *atomic.Int64
	done chan struct{}
}

func (s fanSink) Receive(c *actor.Context) {
	if _, ok := c.Message().(scroll); ok && s.left.Add(-1) == 0 {
		s.done <- struct{}{}
	}
}

// BenchmarkFanOut is a crowd tick's shape: one message each to 1,000 idle
// actors, so every message wakes an inbox (a goroutine, a batch of one).
// An op is one tick: 1,000 messages sent and handled.
func BenchmarkFanOut(b *testing.B) {
	const actors = 1000
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		b.Fatal(err)
	}
	s := fanSink{left: new(atomic.Int64), done: make(chan struct{}, 1)}
	pids := make([]*actor.PID, actors)
	for i := range pids {
		pids[i] = e.Spawn(func() actor.Receiver { return s }, kindConn, actor.WithID(strconv.Itoa(i)), actor.WithInboxSize(inboxSize))
	}
	msg := scroll{position: 0.5}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.left.Store(actors)
		for _, pid := range pids {
			e.Send(pid, msg)
		}
		<-s.done
	}
	b.StopTimer()
	for _, pid := range pids {
		e.Poison(pid)
	}
}

// idleActors is how many actors each op of BenchmarkIdleActor holds.
const idleActors = 10000

// BenchmarkIdleActor is what an idle actor costs in memory: an op spawns
// idleActors reader actors through readtag's spawn path (guarded, tracing
// off) and waits until all have started; B/actor is the heap and stack in
// use after a GC, less that before, per actor. "hollywood-default-inbox" is
// the same with Hollywood's default inbox size instead of inboxSize. Run it
// with -benchtime 1x: an op holds all its actors at once.
func BenchmarkIdleActor(b *testing.B) {
	for _, tc := range []struct {
		name  string
		inbox int
	}{{"readtag", inboxSize}, {"hollywood-default-inbox", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := actor.NewEngine(actor.NewEngineConfig())
			if err != nil {
				b.Fatal(err)
			}
			sys := newSystem(e, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			room := sys.spawn(func() actor.Receiver { return &sink{n: -1} }, kindRoom, "bench", tags{post: "bench"})
			pids := make([]*actor.PID, idleActors)
			ids := make([]string, idleActors)
			for i := range ids {
				ids[i] = strconv.Itoa(i)
			}
			var perActor float64
			for b.Loop() {
				before := inUse()
				for i, id := range ids {
					p := newReader(&seat{id: id, box: &movebox{engine: e, room: room}})
					if tc.inbox == 0 {
						pids[i] = e.Spawn(sys.wrap(p, kindReader, tags{}), kindReader, actor.WithID(id))
					} else {
						pids[i] = sys.spawn(p, kindReader, id, tags{})
					}
				}
				for sys.live.Load() < 1+idleActors {
					runtime.Gosched()
				}
				perActor += float64(inUse()-before) / idleActors
				for _, pid := range pids {
					e.Poison(pid)
				}
				for sys.live.Load() > 1 {
					runtime.Gosched()
				}
			}
			b.ReportMetric(perActor/float64(b.N), "B/actor")
			<-e.Poison(room).Done()
		})
	}
}

// inUse is the heap and goroutine stack memory in use after a GC.
func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
