package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// Config configures a Presence engine. The zero value is ready to use.
type Config struct {
	// Tick is how often a room sends the moves it collected to its readers.
	// Zero value means 50 * time.Millisecond.
	Tick time.Duration
	// Logger receives lifecycle, failure and (at debug level) trace lines.
	// Zero value means slog.Default().
	Logger *slog.Logger
	// Trace narrows message tracing to some actor kinds or one post. Zero
	// value traces every message of every actor (when Logger is at debug).
	Trace Trace
	// NodeID names this engine in actor ids and logs. Zero value means "local".
	NodeID string
}

// Presence is the actor engine behind readtag: it tracks who reads which post
// and where, and tells each reader about the others. It implements the
// web.Presence interface.
type Presence struct {
	sys      *system
	rooms    *actor.PID
	monitor  *actor.PID
	sessions sync.Map // *session → struct{}: the connections Close must stop
	closed   atomic.Bool
}

// New starts an engine with its monitor and room registry.
func New(cfg Config) (*Presence, error) {
	if cfg.Tick == 0 {
		cfg.Tick = 50 * time.Millisecond
	}
	if cfg.Tick < 0 {
		return nil, fmt.Errorf("tick must be positive, got %v", cfg.Tick)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "local"
	}
	if err := cfg.Trace.validate(); err != nil {
		return nil, err
	}
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		return nil, fmt.Errorf("start actor engine: %w", err)
	}
	sys := newSystem(e, cfg)
	p := &Presence{sys: sys}
	p.monitor = sys.spawn(newMonitor(sys), kindMonitor, cfg.NodeID, tags{})
	p.rooms = sys.spawn(newRooms(sys, p.monitor), kindRooms, cfg.NodeID, tags{})
	return p, nil
}

// Join connects a new reader with the given id to the post's room. Updates for
// the reader go to client; the returned Session carries the reader's scrolls.
func (p *Presence) Join(slug, readerID string, client readtag.Client) readtag.Session {
	pid := p.sys.spawn(newConn(slug, readerID, client, p.rooms), kindConn, readerID, tags{post: slug, reader: readerID})
	s := &session{p: p, pid: pid}
	p.sessions.Store(s, struct{}{})
	return s
}

// session is the handle a WebSocket handler holds for its reader.
type session struct {
	p    *Presence
	pid  *actor.PID
	left atomic.Bool
}

func (s *session) Scroll(position float64) {
	s.p.sys.engine.Send(s.pid, scroll{position: position})
}

func (s *session) Leave() {
	if s.left.Swap(true) {
		return
	}
	s.p.sessions.Delete(s)
	s.p.sys.engine.Poison(s.pid)
}

// Stats is a snapshot of the engine's size, for tests and metrics.
type Stats struct {
	// Actors is the number of live actors readtag spawned.
	Actors int64
	// Panics is the number of panics recovered since start.
	Panics int64
}

// Stats reports how many actors are alive and how many panics were recovered.
func (p *Presence) Stats() Stats {
	return Stats{Actors: p.sys.live.Load(), Panics: p.sys.panics.Load()}
}

// Close stops every connection, room and reader, then the monitor, and
// waits for them. The web server should have closed its sockets first.
func (p *Presence) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	p.sessions.Range(func(s, _ any) bool {
		s.(*session).Leave()
		return true
	})
	p.sys.engine.Poison(p.rooms)
	// Everything but the monitor stops on its own now; the monitor goes last
	// so that it sees the others go.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for p.sys.live.Load() > 1 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("stop actors: %d still running: %w", p.sys.live.Load()-1, ctx.Err())
		}
	}
	select {
	case <-p.sys.engine.Poison(p.monitor).Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop monitor: %w", ctx.Err())
	}
}
