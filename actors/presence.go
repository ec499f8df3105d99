package actors

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag"
)

// Presence is the actor engine behind readtag: it tracks who reads which post
// and where, and tells each reader about the others. It implements the
// web.Presence interface.
type Presence struct {
	sys      *system
	rooms    *actor.PID
	monitor  *actor.PID
	sessions sync.Map // *session → struct{}: the connections Close must stop
	closed   atomic.Bool

	// cluster mode only
	remote  *clusterRemote
	cluster []*actor.PID // tracker, provider, agent: stopped after the rooms
	links   *links
	state   *clusterState
}

// New starts an engine with its monitor and room registry.
func New(cfg Config) (*Presence, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	p := &Presence{state: &clusterState{failed: make(chan error, 1)}}
	ecfg := actor.NewEngineConfig()
	if cfg.Cluster != nil {
		rc, err := cfg.Cluster.remoteConfig(cfg.NodeID, cfg.Logger, &p.state.stats)
		if err != nil {
			return nil, err
		}
		p.remote = newClusterRemote(cfg.Cluster.Addr, rc, cfg.Logger)
		p.state.budgets = p.remote.budgets
		ecfg = ecfg.WithRemote(p.remote)
	} else {
		p.state.ready.Store(true)
	}
	e, err := actor.NewEngine(ecfg)
	if err != nil {
		return nil, fmt.Errorf("start actor engine: %w", err)
	}
	sys := newSystem(e, cfg)
	p.sys = sys
	p.monitor = sys.spawn(newMonitor(sys), kindMonitor, cfg.NodeID, tags{})
	var tracker *actor.PID
	if cfg.Cluster != nil {
		tracker = p.startCluster(cfg)
	}
	p.rooms = sys.spawn(newRooms(sys, p.monitor, tracker), kindRooms, cfg.NodeID, tags{})
	if p.remote != nil {
		if err := p.remote.listen(); err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			p.remote = nil
			_ = p.Close(ctx)
			return nil, fmt.Errorf("cluster: listen on %s: %w", cfg.Cluster.Addr, err)
		}
	}
	return p, nil
}

// startCluster spawns the cluster-side actors through readtag's own spawn
// helper, so that they are guarded and traced like the rest. That is also
// why Hollywood's cluster.Start is not called: it spawns the agent and the
// provider bare. The agent is Hollywood's own; the provider is readtag's.
func (p *Presence) startCluster(cfg Config) (tracker *actor.PID) {
	sys, node := p.sys, cfg.NodeID
	cl, _ := cluster.New(cluster.NewConfig().WithEngine(sys.engine).WithID(node).WithListenAddr(cfg.Cluster.Addr))
	l := newLinks(sys.engine, *cfg.Cluster, sys.log, &p.state.stats)
	l.relay = newRelayRoutes(node, sys.incarnation)
	agent := sys.spawn(guardAgent(cluster.NewAgent(cl), kindProvider+"/"+node), kindAgent, node, tags{})
	tracker = sys.spawn(newTracker(sys, node, l, *cfg.Cluster, &p.state.stats), kindTracker, node, tags{})
	prov := sys.spawn(newProvider(sys, *cfg.Cluster, cl.Member(), agent, l, p.state), kindProvider, node, tags{})
	p.cluster = []*actor.PID{prov, tracker, agent}
	p.links = l
	l.start(prov, tracker)
	return tracker
}

// Failed delivers an error when the cluster refuses this node, which must
// then stop: another live process already runs under its node id.
func (p *Presence) Failed() <-chan error { return p.state.failed }

// Health reports whether the node is ready (in cluster mode: it has heard
// from its peers, or waited long enough) and which nodes it sees.
func (p *Presence) Health() (ready bool, node string, members []string) {
	members = []string{p.sys.cfg.NodeID}
	if m := p.state.members.Load(); m != nil {
		members = *m
	}
	return p.state.ready.Load(), p.sys.cfg.NodeID, members
}

// ClusterStatus reports each peer's state, the peers that are not up and
// the cluster counters (zero value on a single node).
func (p *Presence) ClusterStatus() readtag.ClusterStatus {
	if p.links == nil {
		return readtag.ClusterStatus{}
	}
	return p.state.status()
}

// Join connects a new reader with the id who.ID to the post's room. Updates
// for the reader go to client; the returned Session carries the reader's
// scrolls. A reader that comes back (who.Name and who.Color from a resume
// token) keeps that name and colour when the name is free in the room; one
// whose id is still in the room (its old socket not yet gone) takes that
// place over, and the old socket is dropped with readtag.TakenOver.
// A hidden reader sees the others but is not shown to them (nor counted, nor
// replicated to other nodes).
func (p *Presence) Join(slug string, who readtag.Reader, hidden bool, client readtag.Client) readtag.Session {
	s := &session{p: p}
	name := who.ID
	if who.Name != "" {
		name = p.sys.resumeName(who.ID) // its old connection may still be open
	}
	s.pid = p.sys.spawn(newConn(slug, who, hidden, client, p.rooms, &s.seat), kindConn, name, tags{post: slug, reader: who.ID})
	p.sessions.Store(s, struct{}{})
	return s
}

// session is the handle a WebSocket handler holds for its reader.
type session struct {
	p    *Presence
	pid  *actor.PID
	left atomic.Bool
	// seat is the reader's seat, published by the room once welcomed:
	// from then on scrolls land there, with no actor message (see seat).
	seat atomic.Pointer[seat]
	seq  atomic.Uint64 // numbers scrolls, so that the seat drops older ones
}

// Scroll puts the reader's new position in its seat; before the welcome it
// goes to the conn as a message, and while the reader's scrolls are traced
// to the reader actor (seat.traced).
func (s *session) Scroll(position float64) {
	seq := s.seq.Add(1)
	st := s.seat.Load()
	switch {
	case st == nil:
		s.p.sys.engine.Send(s.pid, scroll{position: position, seq: seq})
	case st.traced:
		s.p.sys.engine.Send(st.pid, scroll{position: position, seq: seq})
	default:
		st.scroll(position, seq)
	}
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

// EngineStats is Stats in the shape web.Config.EngineStats wants, with the
// dead letters the monitor counted.
func (p *Presence) EngineStats() (actors, panics, deadLetters int64) {
	return p.sys.live.Load(), p.sys.panics.Load(), p.sys.deadLetters.Load()
}

// SetBacklog tells the rooms how far behind the node's socket writers are:
// backlog reports how many writers have been started and wait for a
// processor. While it is above turnBacklog, a crowd room holds its next
// turn (for at most a tick), so that a node with more frames to write
// than CPU to write them reads its readers' scrolls before it queues yet
// more frames (see room.held). Without it (nil) turns are never held.
func (p *Presence) SetBacklog(backlog func() int) {
	if backlog == nil {
		p.sys.backlog.Store(nil)
		return
	}
	p.sys.backlog.Store(&backlog)
}

// Close stops every connection, room and reader, then the monitor, and
// waits for them. The web server should have closed its sockets first.
func (p *Presence) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	// Messages still in flight to actors that stop first are lost on
	// purpose now: the monitor logs those dead letters at debug, not warn.
	p.sys.closing.Store(true)
	p.sessions.Range(func(s, _ any) bool {
		s.(*session).Leave()
		return true
	})
	// The rooms and readers first, while the cluster actors they talk to
	// are still there; then those; the monitor last, so that it sees the
	// others go.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	waitLive := func(n int64) error {
		for p.sys.live.Load() > n {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fmt.Errorf("stop actors: %d still running: %w", p.sys.live.Load()-1, ctx.Err())
			}
		}
		return nil
	}
	p.sys.engine.Poison(p.rooms)
	if err := waitLive(1 + int64(len(p.cluster))); err != nil {
		return err
	}
	for _, pid := range p.cluster {
		p.sys.engine.Poison(pid)
	}
	if err := waitLive(1); err != nil {
		return err
	}
	select {
	case <-p.sys.engine.Poison(p.monitor).Done():
	case <-ctx.Done():
		return fmt.Errorf("stop monitor: %w", ctx.Err())
	}
	if p.links != nil {
		// The provider's Goodbye is queued: give it a moment to go out.
		p.links.close(250 * time.Millisecond)
	}
	if p.remote != nil {
		p.remote.Stop().Wait()
	}
	return nil
}
