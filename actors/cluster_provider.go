package actors

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/ratelog"
)

// Peer states, as /healthz shows them.
const (
	stateUp     = "up"      // both directions work
	stateDown   = "down"    // nothing heard within the failure timeout
	stateOneWay = "one-way" // we hear it, it does not hear us
)

// beat makes the provider send heartbeats and check for silent peers.
type beat struct{}

// provider is readtag's membership provider, plugged into Hollywood's
// cluster agent (cluster.Config.WithProvider). It replaces the stock
// SelfManagedProvider, which starts mDNS, joins any Hollywood cluster on
// the LAN, log.Fatal()s without multicast and panics on unreachable
// strangers. docs/notes.md says why it is not built on memberlist.
//
// Membership is a static list of peers and a two-way heartbeat: every
// Heartbeat each node tells each peer which incarnation of it it hears. A
// peer is up (a member) only while we have heard it within PeerTimeout and
// its last heartbeat says it hears us: a heartbeat round trip of the real
// protocol on the real links, in both directions. A broken connection
// changes nothing by itself (the link re-dials and the peer keeps its
// readers); only silence past PeerTimeout, a peer that stops hearing us, or
// a Goodbye makes it leave.
type provider struct {
	sys   *system
	cfg   ClusterConfig
	log   *ratelog.Logger // every line a peer can trigger
	self  *cluster.Member
	agent *actor.PID
	links *links
	state *clusterState

	peers   map[string]*peerLiveness // by node id
	order   []string                 // peer ids, sorted
	started time.Time
	repeat  actor.SendRepeater
	ready   bool
	members []string
	join    joinState  // nodes that join at run time (cluster_members.go)
	stall   stallWatch // cluster_stall.go
	relayState
	relaying bool // heard is taking an envelope a relay carried
}

type peerLiveness struct {
	Peer
	incarnation uint64    // of its last heartbeat
	gone        uint64    // incarnation that said Goodbye: its late messages are ignored
	heard       time.Time // last heartbeat from it
	hearsUs     bool      // its last heartbeat said it hears our incarnation
	acked       time.Time // last heartbeat that said so
	oneWayAt    time.Time // since when we hear it but it does not hear us
	announced   string    // the address it says it listens on
	everUp      bool
	state       string
	// When we last followed it to a new address: at most once per
	// ChangeEvery, so that a peer (or a stolen key) flapping addresses
	// cannot make us dial at its own pace (incarnations: mayRenew).
	addrAt time.Time
	// returns is how many times it may come up again now (see mayReturn),
	// as of returnsAt.
	returns   float64
	returnsAt time.Time
	upHeld    bool  // its coming up is held back now
	joinInfo        // set for a node that joined at run time
	rival     rival // another incarnation heard meanwhile (cluster_duplicate.go)

	// renewals is how many new incarnations of it may be taken now (see
	// mayRenew), as of renewalsAt.
	renewals   float64
	renewalsAt time.Time

	// Relay (cluster_relay.go): its last heartbeat on a direct connection,
	// whether its last heartbeat said it hears us only through a relay,
	// the relay our messages to it also go through (since relayAt), and
	// the peers of ours its last direct heartbeat listed up (it may relay
	// to them).
	direct    time.Time
	relayedUs bool
	relayVia  string
	relayAt   time.Time
	reaches   []string
}

// upBurst is how many times a peer that was up may come back up at once
// (see mayReturn).
const upBurst = 2

// clusterState is what the web side may read: readiness, members, peers,
// and counters.
type clusterState struct {
	ready   atomic.Bool
	members atomic.Pointer[[]string]
	peers   atomic.Pointer[[]peerView]
	missing atomic.Pointer[[]string]
	stats   clusterStats
	failed  chan error // the node must stop (Presence.Failed); cap 1
	budgets *budgets   // the remote's, for forgotten nodes; nil without
}

// peerView is one peer as the provider last published it.
type peerView struct {
	id, addr, state string
	heard, acked    time.Time
	link            bool
}

// clusterStats are the cluster's counters for /metrics.
type clusterStats struct {
	resyncs, snapshotsSent, snapshotsReceived  atomic.Int64
	replicaExpiries                            atomic.Int64
	linkStalls, linkDrops, linkDialFailures    atomic.Int64
	linkDropped, addressChanges, peerStateFlip atomic.Int64
	readyChanges, peerChangesHeld              atomic.Int64
	// what peers were refused (cluster_budget.go, clusterRemote, tracker)
	budgetDropped, budgetThrottled            atomic.Int64
	budgetDisconnects, budgetRefused          atomic.Int64
	inboxDropped, roomDropped, readersRefused atomic.Int64
	// replication by interest (cluster_interest.go)
	deltasReceived, bytesReceived, countsReceived   atomic.Int64
	interestSent, interestRefused, partialSnapshots atomic.Int64
	// nodes that joined at run time (cluster_members.go)
	membersJoined, membersForgotten, membersRefused atomic.Int64
	duplicatesRefused, stalls                       atomic.Int64 // cluster_duplicate.go, cluster_stall.go
	// relaying (cluster_relay.go)
	relaySent, relayCarried, relayDelivered, relayDuplicates, relayRefused atomic.Int64
}

func newProvider(sys *system, cfg ClusterConfig, self *cluster.Member, agent *actor.PID, l *links, st *clusterState) actor.Producer {
	return func() actor.Receiver {
		p := &provider{sys: sys, cfg: cfg, log: ratelog.New(sys.log, 0), self: self, agent: agent, links: l, state: st, peers: make(map[string]*peerLiveness), stall: newStallWatch(cfg)}
		for _, peer := range cfg.Peers {
			p.peers[peer.ID] = &peerLiveness{Peer: peer, state: stateDown}
			p.order = append(p.order, peer.ID)
		}
		slices.Sort(p.order)
		return p
	}
}

func (p *provider) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		p.started = time.Now()
		p.relayState.box.max = peerInbox
		p.relayState.tracker = actor.NewPID(c.PID().Address, kindTracker+"/"+p.self.ID)
		p.repeat = c.Engine().SendRepeat(c.PID(), beat{}, p.cfg.Heartbeat)
		p.startDiscovery(c)
		p.update(c)
	case actor.Stopped:
		p.repeat.Stop()
		p.stopDiscovery()
		bye := &clusterpb.Envelope{Node: p.self.ID, Incarnation: p.sys.incarnation, Version: protocolVersion, Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{}}}
		for _, id := range p.order {
			p.links.send(id, kindProvider, c.PID(), bye)
		}
	case beat:
		p.stalled(p.stall.tick(time.Now()))
		for _, id := range p.order {
			p.heartbeat(c, p.peers[id])
		}
		p.update(c)
	case linkUp:
		if peer, ok := p.peers[msg.node]; ok {
			p.heartbeat(c, peer)
		}
	case discovered:
		p.discovered(c, msg)
	case fromPeer:
		msg.box.done()
		if env, ok := msg.msg.(*clusterpb.Envelope); ok {
			p.heard(c, env)
		}
	case *clusterpb.Envelope:
		p.heard(c, msg)
	}
}

func (p *provider) heartbeat(c *actor.Context, peer *peerLiveness) {
	hears := uint64(0)
	if p.hearing(peer, time.Now()) {
		hears = peer.incarnation
	}
	hb := &clusterpb.Heartbeat{Hears: &hears, Addr: p.advertise(), Members: p.gossip(peer.ID), Relayed: hears != 0 && !p.hearsDirect(peer, time.Now())}
	p.links.send(peer.ID, kindProvider, c.PID(), &clusterpb.Envelope{Node: p.self.ID, Incarnation: p.sys.incarnation, Version: protocolVersion, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: hb}})
}

// advertise is the address peers can reach us on, if it is a real one.
func (p *provider) advertise() string {
	host, _, err := net.SplitHostPort(p.cfg.Addr)
	if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
		return ""
	}
	return p.cfg.Addr
}

func (p *provider) hearing(peer *peerLiveness, now time.Time) bool {
	return !peer.heard.IsZero() && now.Sub(peer.heard) <= p.cfg.PeerTimeout
}

// heard takes a peer's heartbeat or goodbye.
//
// The envelope's node id is trusted: with mutual TLS the remote checks, for
// every message, that Envelope.Node is the id in the sending peer's
// certificate, so only that peer can speak for it (and move its address).
// Without TLS, anyone who can reach the cluster port can impersonate a peer
// anyway; the cluster port must then be on a private network.
//
// Even a peer's own certificate may be stolen (docs/security.md): so only
// the incarnation we hear may say goodbye, and new incarnations are taken
// at most once per ChangeEvery after a burst of upBurst (mayRenew; a node
// that really restarted heartbeats on, and is taken at the next heartbeat
// after that).
func (p *provider) heard(c *actor.Context, msg *clusterpb.Envelope) {
	peer, ok := p.peers[msg.GetNode()]
	if !ok && !p.relaying {
		peer, ok = p.admit(c, msg)
	}
	if !ok {
		p.log.Warn("stranger", "cluster message from a node that is not a peer: ignored", "node", msg.GetNode(), "from", pidString(c.Sender()))
		return
	}
	inc := msg.GetIncarnation()
	if inc == peer.gone {
		return // late messages of a node that said goodbye
	}
	now := time.Now()
	switch b := msg.GetBody().(type) {
	case *clusterpb.Envelope_Goodbye:
		if inc != peer.incarnation || inc == 0 {
			// Not the incarnation we hear: an old one's late goodbye after
			// a restart, or a lie; either way the one we hear stays.
			return
		}
		p.log.Info("goodbye/"+peer.ID, "cluster peer said goodbye", "node", p.self.ID, "peer", peer.ID)
		peer.gone, peer.goneAt = inc, now
		peer.heard, peer.hearsUs, peer.incarnation = time.Time{}, false, 0
		p.sys.incarnations.set(peer.ID, 0)
		p.update(c)
	case *clusterpb.Envelope_Relay:
		if inc == peer.incarnation && !p.relaying {
			p.relay(c, peer, msg, b.Relay)
		}
	case *clusterpb.Envelope_Heartbeat:
		if b.Heartbeat.GetRefuses() != 0 {
			p.refusedBy(peer, b.Heartbeat)
			return
		}
		if inc == peer.incarnation {
			p.establishedHeard(c, peer, now)
		} else if peer.incarnation != 0 && p.hearing(peer, now) && !p.rivalMay(c, peer, inc, b.Heartbeat.GetAddr(), now) {
			return // another process under its id, or a restart not yet sure
		}
		if inc != peer.incarnation && !p.mayRenew(peer, now) {
			return
		}
		if inc != peer.incarnation {
			p.sys.incarnations.set(peer.ID, inc)
		}
		wasHearing := p.hearing(peer, now) && peer.incarnation == msg.GetIncarnation()
		peer.incarnation = msg.GetIncarnation()
		peer.heard = now
		// A node older than the hears field counts as hearing us.
		peer.hearsUs = b.Heartbeat.Hears == nil || b.Heartbeat.GetHears() == p.sys.incarnation
		peer.relayedUs = b.Heartbeat.GetRelayed()
		if peer.hearsUs {
			peer.acked = now
		}
		if !p.relaying {
			// Addresses and gossip only from the peer itself, never through
			// a relay (cluster_relay.go).
			peer.direct = now
			peer.reaches = p.reaches(peer.reaches[:0], b.Heartbeat.GetMembers())
			p.learnAddr(peer, b.Heartbeat.GetAddr(), now)
			p.learnMembers(c, b.Heartbeat.GetMembers(), now)
		}
		if !wasHearing {
			// Tell it (or its new incarnation) at once that we hear it: the
			// handshake then takes one round trip, not one heartbeat period.
			p.heartbeat(c, peer)
		}
		p.update(c)
	}
}

// learnAddr follows a peer that moved: when the address it announces
// changes while our link to it is down, our link dials the new one. A peer
// that announces something other than our configured address for it, which
// never worked, is also followed once it has heard nothing from us for
// PeerTimeout (it was restarted on new ports before we started). A link
// that works is never moved (the configured address may be a proxy or a
// load balancer), and a peer is followed to a new address at most once per
// ChangeEvery: a peer, or a stolen key, announcing address after address
// makes us dial one of them per ChangeEvery at most, and only while the
// real peer is unreachable (and what we dial must present the peer's
// certificate).
func (p *provider) learnAddr(peer *peerLiveness, addr string, now time.Time) {
	if addr == "" || len(addr) > 255 {
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return
	}
	if peer.announced == "" || peer.announced == addr || p.links.addr(peer.ID) == addr {
		peer.announced = addr
		return
	}
	// A move not followed now is looked at again at the next heartbeat
	// that announces it: announced keeps the address we know.
	if p.links.connected(peer.ID) {
		p.held(peer, "a new address while our link to it works")
		return
	}
	if !p.allow(peer, &peer.addrAt, now, "a new address") {
		return
	}
	peer.announced = addr
	p.retarget(peer, addr, "the peer announced a new address")
}

// allow reports whether a change of peer's is taken now (at most one per
// ChangeEvery, stamped in at), and counts and logs one held back.
func (p *provider) allow(peer *peerLiveness, at *time.Time, now time.Time, what string) bool {
	if !at.IsZero() && now.Sub(*at) < p.cfg.ChangeEvery {
		p.held(peer, what+" too soon after the last")
		return false
	}
	*at = now
	return true
}

// mayReturn takes one of the times a peer that was up may come up again:
// upBurst at once, then one per ChangeEvery. An honest peer that blips once
// or twice (a short partition, a lost heartbeat) is back at once; one that
// keeps flapping is back at most once per ChangeEvery.
func (p *provider) mayReturn(peer *peerLiveness, now time.Time) bool {
	peer.returns = min(upBurst, peer.returns+float64(now.Sub(peer.returnsAt))/float64(p.cfg.ChangeEvery))
	peer.returnsAt = now
	if peer.returns < 1 {
		return false
	}
	peer.returns--
	return true
}

// mayRenew takes one of the new incarnations of a peer we may take now:
// upBurst at once, then one per ChangeEvery. Its first at start and a real
// restart after it (a goodbye, or silence) are taken at once; a peer, or a
// stolen key, flapping incarnations is held to one per ChangeEvery. (Once
// per ChangeEvery with no burst held a restart soon after the first
// heartbeat for up to ChangeEvery: a peer restarted on a new port within
// 3 s of the cluster forming was found 3.3–3.8 s later instead of at once.)
func (p *provider) mayRenew(peer *peerLiveness, now time.Time) bool {
	peer.renewals = min(upBurst, peer.renewals+float64(now.Sub(peer.renewalsAt))/float64(p.cfg.ChangeEvery))
	peer.renewalsAt = now
	if peer.renewals < 1 {
		p.held(peer, "a new incarnation too soon after the last")
		return false
	}
	peer.renewals--
	return true
}

func (p *provider) held(peer *peerLiveness, what string) {
	p.state.stats.peerChangesHeld.Add(1)
	p.log.Info("held/"+peer.ID, "cluster peer change held back", "node", p.self.ID, "peer", peer.ID, "change", what)
}

func (p *provider) retarget(peer *peerLiveness, addr, why string) {
	p.log.Info("addr/"+peer.ID, "cluster peer address changed", "node", p.self.ID, "peer", peer.ID, "from", p.links.addr(peer.ID), "to", addr, "why", why)
	p.state.stats.addressChanges.Add(1)
	p.links.retarget(peer.ID, addr)
}

// update works out every peer's state, recycles stalled links, and publishes
// members, readiness and peers when they change.
func (p *provider) update(c *actor.Context) {
	now := time.Now()
	p.stalled(p.stall.check(now))
	changed := p.forget(c, now)
	for _, id := range p.order {
		peer := p.peers[id]
		state := stateDown
		switch {
		case !p.hearing(peer, now):
		case peer.hearsUs:
			state = stateUp
		default:
			state = stateOneWay
		}
		if worse(state, peer.state) && p.stall.lenient(now) {
			continue // we were stalled: judged again after the grace
		}
		if state == stateUp && peer.state != stateUp && peer.everUp && !p.mayReturn(peer, now) {
			// Up again, and again: it flaps (it said goodbye, or stopped
			// hearing us, and is back). Going down is taken at once;
			// coming back waits, so membership and readiness flip at most
			// twice per ChangeEvery after a burst.
			if !peer.upHeld {
				p.held(peer, "up again too soon after it last came back")
			}
			peer.upHeld = true
			continue
		}
		peer.upHeld = false
		if state == stateOneWay && peer.state != stateOneWay {
			peer.oneWayAt = now
		}
		if state != peer.state {
			p.log.Info("state/"+id+"/"+state, "cluster peer "+state, "node", p.self.ID, "peer", id, "was", peer.state, "heard_ago", age(peer.heard, now), "heard_us_ago", age(peer.acked, now))
			peer.state = state
			if state == stateUp && !peer.everUp {
				peer.everUp, peer.returns, peer.returnsAt = true, upBurst, now
			}
			p.state.stats.peerStateFlip.Add(1)
			changed = true
		}
		if state == stateOneWay && now.Sub(peer.oneWayAt) > p.cfg.PeerTimeout {
			switch {
			case !peer.everUp && peer.announced != "" && peer.announced != p.links.addr(id):
				if p.allow(peer, &peer.addrAt, now, "the announced address") {
					p.retarget(peer, peer.announced, "the configured address never worked")
				}
			default:
				// We have a connection it does not hear: dial again.
				p.links.recycle(id)
			}
			peer.oneWayAt = now
		}
	}
	for _, peer := range p.route(now) {
		p.heartbeat(c, peer)
	}
	p.publish(c, changed)
}

// stalled logs a stall that stallWatch noticed.
func (p *provider) stalled(gap time.Duration, ok bool) {
	if ok {
		p.state.stats.stalls.Add(1)
		p.log.Warn("stalled", "cluster node was stalled: its peers are judged again after a grace", "node", p.self.ID,
			"stalled_for", gap.Round(time.Millisecond).String(), "grace", p.stall.grace.String())
	}
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Millisecond).String()
}

// publish tells the agent who the members are (it emits MemberJoinEvent and
// MemberLeaveEvent for the difference) and stores what /healthz shows.
func (p *provider) publish(c *actor.Context, changed bool) {
	members := []*cluster.Member{p.self}
	names := []string{p.self.ID}
	views := make([]peerView, 0, len(p.order))
	var missing []string
	for _, id := range p.order {
		peer := p.peers[id]
		if peer.hearsay() {
			continue // a name in gossip, not (yet) a member
		}
		if peer.state == stateUp {
			members = append(members, &cluster.Member{ID: peer.ID, Host: p.links.addr(id), Region: p.self.Region, Kinds: []string{}})
			names = append(names, peer.ID)
		} else {
			missing = append(missing, id)
		}
		views = append(views, peerView{id: id, addr: p.links.addr(id), state: peer.state, heard: peer.heard, acked: peer.acked, link: p.links.connected(id)})
	}
	slices.Sort(names)
	p.state.peers.Store(&views)
	p.state.missing.Store(&missing)
	if !slices.Equal(p.members, names) {
		p.members = names
		p.state.members.Store(&names)
		p.log.Info("", "cluster membership", "node", p.self.ID, "members", strings.Join(names, ","), "of", len(views)+1)
		changed = true
	}
	if changed || p.members == nil {
		c.Send(p.agent, &cluster.Members{Members: members})
	}
	// Ready: once every peer has completed the handshake (or the start-up
	// grace is over), and while at least one is up: an island must not
	// take readers.
	up, all, known := len(names)-1, true, 0
	for _, peer := range p.peers {
		if !peer.hearsay() {
			all, known = all && peer.everUp, known+1
		}
	}
	ready := (known == 0 && p.alone()) || (up > 0 && (all || time.Since(p.started) > p.cfg.ReadyAfter))
	if ready != p.ready {
		p.ready = ready
		p.state.ready.Store(ready)
		p.state.stats.readyChanges.Add(1)
		p.log.Info(fmt.Sprint("ready/", ready), "cluster node ready", "node", p.self.ID, "ready", ready, "up", up, "of", known, "missing", strings.Join(missing, ","))
	}
}

// status is the cluster as /healthz and /metrics show it.
func (st *clusterState) status() readtag.ClusterStatus {
	var s readtag.ClusterStatus
	now := time.Now()
	if v := st.peers.Load(); v != nil {
		for _, p := range *v {
			s.Peers = append(s.Peers, readtag.PeerStatus{
				ID: p.id, Addr: p.addr, State: p.state, Link: p.link,
				HeardAgo: sinceOr(p.heard, now), HeardUsAgo: sinceOr(p.acked, now),
			})
		}
	}
	if m := st.missing.Load(); m != nil {
		s.Missing = *m
	}
	s.Counters = map[string]int64{
		"resyncs":            st.stats.resyncs.Load(),
		"snapshots_sent":     st.stats.snapshotsSent.Load(),
		"snapshots_received": st.stats.snapshotsReceived.Load(),
		"replica_expiries":   st.stats.replicaExpiries.Load(),
		"link_stalls":        st.stats.linkStalls.Load(),
		"link_drops":         st.stats.linkDrops.Load(),
		"link_dial_failures": st.stats.linkDialFailures.Load(),
		"link_dropped":       st.stats.linkDropped.Load(),
		"address_changes":    st.stats.addressChanges.Load(),
		"peer_state_changes": st.stats.peerStateFlip.Load(),
		"ready_changes":      st.stats.readyChanges.Load(),
		"peer_changes_held":  st.stats.peerChangesHeld.Load(),
		"budget_dropped":     st.stats.budgetDropped.Load(),
		"budget_throttled":   st.stats.budgetThrottled.Load(),
		"budget_disconnects": st.stats.budgetDisconnects.Load(),
		"budget_refused":     st.stats.budgetRefused.Load(),
		"inbox_dropped":      st.stats.inboxDropped.Load(),
		"room_dropped":       st.stats.roomDropped.Load(),
		"readers_refused":    st.stats.readersRefused.Load(),
		"deltas_received":    st.stats.deltasReceived.Load(),
		"bytes_received":     st.stats.bytesReceived.Load(),
		"counts_received":    st.stats.countsReceived.Load(),
		"interest_sent":      st.stats.interestSent.Load(),
		"interest_refused":   st.stats.interestRefused.Load(),
		"partial_snapshots":  st.stats.partialSnapshots.Load(),
		"members_joined":     st.stats.membersJoined.Load(),
		"members_forgotten":  st.stats.membersForgotten.Load(),
		"members_refused":    st.stats.membersRefused.Load(),
		"duplicates_refused": st.stats.duplicatesRefused.Load(),
		"stalls":             st.stats.stalls.Load(),
		"relay_sent":         st.stats.relaySent.Load(),
		"relay_carried":      st.stats.relayCarried.Load(),
		"relay_delivered":    st.stats.relayDelivered.Load(),
		"relay_duplicates":   st.stats.relayDuplicates.Load(),
		"relay_refused":      st.stats.relayRefused.Load(),
	}
	return s
}

// sinceOr is how long ago t was, or -1 for never.
func sinceOr(t, now time.Time) time.Duration {
	if t.IsZero() {
		return -1
	}
	return now.Sub(t)
}
