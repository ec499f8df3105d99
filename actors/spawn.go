package actors

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Actor kinds, as they appear in PIDs, logs and the --trace filter.
const (
	kindMonitor  = "monitor"
	kindRooms    = "rooms"
	kindRoom     = "room"
	kindReader   = "reader"
	kindConn     = "conn"
	kindTracker  = "tracker"  // cluster mode: presence between nodes
	kindProvider = "provider" // cluster mode: membership
	kindAgent    = "cluster"  // cluster mode: Hollywood's cluster agent
)

// Kinds lists every actor kind readtag spawns, for validating --trace.
var Kinds = []string{kindAgent, kindConn, kindMonitor, kindProvider, kindReader, kindRoom, kindRooms, kindTracker}

// inboxSize is small on purpose: an idle actor then costs ~1 KB instead of
// ~28 KB (BenchmarkIdleActor; the ring buffer grows when it must, and what we
// queue per client is bounded elsewhere).
const inboxSize = 4

// system is what every actor of one engine shares: the engine, the logger,
// the configuration and the counters. It is read-only after newSystem except
// for the atomics.
type system struct {
	engine *actor.Engine
	log    *slog.Logger
	cfg    Config
	trace  bool // message tracing is on (debug level enabled)

	live        atomic.Int64 // actors started and not yet stopped
	closing     atomic.Bool  // Presence.Close has begun
	panics      atomic.Int64
	deadLetters atomic.Int64
	// returns numbers the actors of readers who came back (resumeName).
	returns atomic.Uint64

	// incarnation is drawn at start: peers tell a restarted node by it.
	incarnation uint64
	// incarnations are the peers' that the provider takes, for the tracker.
	incarnations incarnations

	// newReader makes a room's reader actors; tests swap it to inject faults.
	newReader func(st *seat) actor.Producer

	// counts is every post's reader count, for the index (counts.go).
	counts *counts
	// names is the share of colours and names this node hands out (names.go).
	names allotment
	// backlog, if set, is how many of the node's socket writers wait for
	// a processor (Presence.SetBacklog; crowd turns wait for it, see held).
	backlog atomic.Pointer[func() int]
	// holdMax, if set, is the longest a crowd turn is held instead of a
	// tick (tests).
	holdMax atomic.Int64 // a time.Duration
}

func newSystem(e *actor.Engine, cfg Config) *system {
	var peers []Peer
	if cfg.Cluster != nil {
		peers = cfg.Cluster.Peers
	}
	return &system{
		engine:      e,
		log:         cfg.Logger,
		cfg:         cfg,
		trace:       cfg.Logger.Enabled(context.Background(), slog.LevelDebug),
		newReader:   newReader,
		counts:      newCounts(),
		incarnation: rand.Uint64() | 1, // never 0, which means "not heard from yet"
		names:       allot(cfg.NodeID, peers),
	}
}

// spawn starts a top-level actor. Every actor readtag runs is started by spawn
// or spawnUnder, so none can miss the guard and the tracer.
func (s *system) spawn(p actor.Producer, kind, id string, who tags) *actor.PID {
	return s.engine.Spawn(s.wrap(p, kind, who), kind, actor.WithID(id), actor.WithInboxSize(inboxSize))
}

// resumeName is the actor id for a reader id whose earlier actors may
// still be registered (a resumed reader, a takeover): Hollywood refuses a
// second actor of one name, so the name gets a number of its own.
func (s *system) resumeName(id string) string {
	return id + "." + strconv.FormatUint(s.returns.Add(1), 36)
}

// spawnUnder starts an actor that parent supervises, named under it
// ("rooms/local/room/hello/reader/x") as a Hollywood child would be. It is
// not spawned with SpawnChild: in v1.0.5 a stopping parent poisons each child
// and waits for it, and when the child is stopping at that moment the pill
// lands in its stopped inbox and the parent waits forever (seen here as a
// room that never stopped). So the parent stops its own actors instead, and
// learns of their failures through the monitor.
func (s *system) spawnUnder(parent *actor.PID, p actor.Producer, kind, id string, who tags) *actor.PID {
	return s.engine.Spawn(s.wrap(p, kind, who), parent.ID+"/"+kind, actor.WithID(id), actor.WithInboxSize(inboxSize))
}

// wrap puts the guard (and, at debug level, the tracer) around every
// Receiver p makes. It wraps the Receiver rather than using Hollywood's
// middleware because v1.0.5 rebuilds the middleware chain for every message,
// which costs two allocations and doubles the cost of a message (measured in
// BenchmarkMessagePath); a wrapper costs a deferred recover.
func (s *system) wrap(p actor.Producer, kind string, who tags) actor.Producer {
	var trace func(*actor.Context)
	if s.trace && s.cfg.Trace.kind(kind) {
		trace = s.tracer(kind, who)
	}
	resume := kind != kindRoom && kind != kindReader && kind != kindConn
	return func() actor.Receiver {
		return &guarded{sys: s, inner: p(), trace: trace, resume: resume}
	}
}

// guarded is the outermost layer of every actor. Hollywood v1.0.5 crashes
// the whole process when an actor exceeds MaxRestarts, and a restart loses the
// actor's state anyway, so no panic is ever left to the engine: it is logged
// with its reason and stack, and the actor is stopped cleanly (its Stopped
// handler runs, and the monitor tells whoever depends on it). The monitor and
// the room registry (and in cluster mode the tracker, the provider and the
// agent) instead drop the message and carry on (resume), since everything
// else depends on them.
type guarded struct {
	sys    *system
	inner  actor.Receiver
	trace  func(*actor.Context) // nil when tracing is off
	resume bool
}

func (g *guarded) Receive(c *actor.Context) {
	defer g.recover(c)
	switch c.Message().(type) {
	case actor.Started:
		g.sys.live.Add(1)
	case actor.Stopped:
		defer g.sys.live.Add(-1)
	}
	if g.trace != nil {
		g.trace(c)
	}
	g.inner.Receive(c)
}

func (g *guarded) recover(c *actor.Context) {
	v := recover()
	if v == nil {
		return
	}
	g.sys.panics.Add(1)
	_, stopping := c.Message().(actor.Stopped)
	g.sys.log.Error("actor panicked",
		"actor", c.PID().ID,
		"type", typeName(c.Message()),
		"reason", fmt.Sprint(v),
		"action", panicAction(g.resume, stopping),
		"stack", string(debug.Stack()))
	if !g.resume && !stopping {
		c.Engine().Poison(c.PID())
	}
}

func panicAction(resume, stopping bool) string {
	switch {
	case stopping:
		return "stopped"
	case resume:
		return "message dropped, actor kept"
	default:
		return "actor stopped"
	}
}

// typeName is the message's Go type as "package.Type", e.g. "actor.Started".
func typeName(msg any) string { return fmt.Sprintf("%T", msg) }

// alive reports whether the actor behind pid is still registered. Hollywood
// removes an actor from its registry before it publishes ActorStoppedEvent,
// so an actor seen alive here will still have its stop event delivered.
func alive(e *actor.Engine, pid *actor.PID) bool {
	i := strings.LastIndexByte(pid.ID, '/')
	if i < 0 {
		return false
	}
	return e.Registry.GetPID(pid.ID[:i], pid.ID[i+1:]) != nil
}

// after sends msg to pid once d has passed, from a timer goroutine, as
// Hollywood's examples do for work that finishes outside Receive.
func after(e *actor.Engine, pid *actor.PID, d time.Duration, msg any) *time.Timer {
	return time.AfterFunc(d, func() { e.Send(pid, msg) })
}
