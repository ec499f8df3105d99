package actors

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
)

// Peer is another readtag node of the cluster.
type Peer struct {
	ID   string
	Addr string // host:port of its --cluster-addr; a DNS name is resolved on every dial
}

// ClusterConfig turns an engine into one node of a cluster.
type ClusterConfig struct {
	// Addr is the host:port this node's actors listen on for other nodes.
	Addr string
	// Peers are the other nodes. Only they can join: there is no discovery.
	Peers []Peer
	// Heartbeat is how often a node tells its peers it is alive. Zero value
	// means 500 * time.Millisecond.
	Heartbeat time.Duration
	// PeerTimeout is how long a silent peer (frozen, cut off) stays a member.
	// Zero value means 3 * time.Second.
	PeerTimeout time.Duration
	// ReadyAfter is how long a node waits for every peer before it reports
	// ready anyway (a cluster with a node down must still serve). Zero
	// value means 10 * time.Second.
	ReadyAfter time.Duration
}

// beat makes the provider send heartbeats and check for silent peers.
type beat struct{}

// provider is readtag's membership provider, plugged into Hollywood's
// cluster agent (cluster.Config.WithProvider). It replaces the stock
// SelfManagedProvider, which starts mDNS, joins any Hollywood cluster on
// the LAN, log.Fatal()s without multicast and panics on unreachable
// strangers. Membership here is a static list of peers and a heartbeat
// with a timeout (v1.0.5 never notices a frozen member): a peer is a member
// while it has been heard from within PeerTimeout and its stream is up.
type provider struct {
	sys   *system
	cfg   ClusterConfig
	self  *cluster.Member
	agent *actor.PID
	links *links
	state *clusterState

	peers   map[string]*peerLiveness // by node id
	started time.Time
	repeat  actor.SendRepeater
}

type peerLiveness struct {
	Peer
	heard time.Time
	up    bool
	ever  bool // heard from at least once
}

// clusterState is what the web side may read: readiness and members.
type clusterState struct {
	ready   atomic.Bool
	members atomic.Pointer[[]string]
}

func newProvider(sys *system, cfg ClusterConfig, self *cluster.Member, agent *actor.PID, l *links, st *clusterState) actor.Producer {
	return func() actor.Receiver {
		p := &provider{sys: sys, cfg: cfg, self: self, agent: agent, links: l, state: st, peers: make(map[string]*peerLiveness)}
		for _, peer := range cfg.Peers {
			p.peers[peer.ID] = &peerLiveness{Peer: peer}
		}
		return p
	}
}

func (p *provider) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		p.started = time.Now()
		c.Engine().Subscribe(c.PID())
		p.repeat = c.Engine().SendRepeat(c.PID(), beat{}, p.cfg.Heartbeat)
		p.publish(c)
	case actor.Stopped:
		p.repeat.Stop()
		c.Engine().Unsubscribe(c.PID())
	case beat:
		p.beat(c)
	case linkUp:
		p.beat(c)
	case *clusterpb.Envelope:
		p.heard(c, msg)
	case actor.RemoteUnreachableEvent:
		p.links.down(msg.ListenAddr)
		for _, peer := range p.peers {
			if peer.Addr == msg.ListenAddr && peer.up {
				peer.up = false
				p.sys.log.Info("cluster peer unreachable", "node", p.self.ID, "peer", peer.ID, "addr", peer.Addr)
				p.publish(c)
			}
		}
	}
}

func (p *provider) beat(c *actor.Context) {
	now := time.Now()
	hb := &clusterpb.Envelope{Node: p.self.ID, Incarnation: p.sys.incarnation, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}
	changed := false
	for _, peer := range p.peers {
		p.links.send(c, actor.NewPID(peer.Addr, kindProvider+"/"+peer.ID), hb)
		if peer.up && now.Sub(peer.heard) > p.cfg.PeerTimeout {
			peer.up = false
			changed = true
			p.sys.log.Info("cluster peer silent", "node", p.self.ID, "peer", peer.ID, "silent_for", now.Sub(peer.heard).Round(time.Millisecond).String())
		}
	}
	if changed {
		p.publish(c)
	}
	p.checkReady()
}

func (p *provider) heard(c *actor.Context, msg *clusterpb.Envelope) {
	peer, ok := p.peers[msg.GetNode()]
	if !ok {
		p.sys.log.Warn("cluster message from a node that is not a peer: ignored", "node", msg.GetNode(), "from", pidString(c.Sender()))
		return
	}
	peer.heard = time.Now()
	peer.ever = true
	if !peer.up {
		peer.up = true
		p.publish(c)
	}
	p.checkReady()
}

// publish tells the agent who the members are; it emits MemberJoinEvent
// and MemberLeaveEvent for the difference.
func (p *provider) publish(c *actor.Context) {
	members := []*cluster.Member{p.self}
	names := []string{p.self.ID}
	for _, peer := range p.peers {
		if peer.up {
			members = append(members, &cluster.Member{ID: peer.ID, Host: peer.Addr, Region: p.self.Region, Kinds: []string{}})
			names = append(names, peer.ID)
		}
	}
	slices.Sort(names)
	if old := p.state.members.Load(); old == nil || !slices.Equal(*old, names) {
		p.state.members.Store(&names)
		p.sys.log.Info("cluster membership", "node", p.self.ID, "members", strings.Join(names, ","), "of", len(p.peers)+1)
	}
	c.Send(p.agent, &cluster.Members{Members: members})
}

// checkReady marks the node ready once every peer has been heard from, or
// ReadyAfter has passed (so one node down does not keep the rest unready).
func (p *provider) checkReady() {
	if p.state.ready.Load() {
		return
	}
	all := true
	for _, peer := range p.peers {
		all = all && peer.ever
	}
	if all || time.Since(p.started) > p.cfg.ReadyAfter {
		p.state.ready.Store(true)
		p.sys.log.Info("cluster node ready", "node", p.self.ID, "all_peers_seen", all)
	}
}
