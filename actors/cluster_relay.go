package actors

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/proto"

	"github.com/readtag/readtag/actors/clusterpb"
)

// Relay (docs/cluster.md, "Relay"): where a and b cannot exchange directly
// but both reach a third node c, each one's messages for the other go
// through c. Every heartbeat says whether the sender hears the receiver
// only through a relay, or not at all (Heartbeat.relayed, hears), and lists
// the peers the sender has up (Heartbeat.members). b relays to a while a
// says it does not hear b directly or b has heard nothing of a for
// directWithin: through any third node up at b if b still hears a directly
// (a one-way partition), else only through one whose heartbeat lists a up
// (a symmetric or partial partition). b then queues a copy of everything
// it sends a, tracker and provider alike, wrapped in a Relay, on its link
// to c (links.send); c's provider checks that the wrapped Envelope is b's
// own and that a and b are up at c, and sends it on to a's provider,
// naming b as its origin; a's provider hands it to its tracker or takes it
// itself as if b had sent it directly. So a keeps hearing b, both stay
// members, and the trackers' streams go on with their seq numbers: a copy
// that arrives twice (the direct path heals) is dropped by seq, and one
// lost while the relay started shows as a gap and costs a snapshot, which
// changes only what changed. Liveness is still judged by b's own
// heartbeats, direct or relayed: a b that died goes down after the failure
// timeout, relay or not. A relayed heartbeat of a new incarnation of b's
// is taken only once the one a knew is silent past the failure timeout (a
// restart during the partition; a rival is judged on a direct connection).
//
// A relayed message is never relayed again (one hop: a Relay is never
// wrapped, and one with from set is only delivered). A relay carries at
// most relayMessages messages and relayBytes bytes a second for each
// origin, on top of the origin's per-peer budget (cluster_budget.go),
// which counts the relayed traffic as the origin's. With two nodes there
// is no third: nothing is relayed.
const (
	relayMessages = 1000
	relayBytes    = 1 << 20
)

// relayRoutes says which peers our messages also go to through a relay:
// the provider decides (route), links.send reads it.
type relayRoutes struct {
	self        string
	incarnation uint64

	mu  sync.RWMutex
	via map[string]string // destination → the relay we send its copies through
}

func newRelayRoutes(self string, incarnation uint64) *relayRoutes {
	return &relayRoutes{self: self, incarnation: incarnation, via: make(map[string]string)}
}

func (r *relayRoutes) route(node string) string {
	if r == nil {
		return ""
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.via[node]
}

func (r *relayRoutes) set(node, via string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if via == "" {
		delete(r.via, node)
	} else {
		r.via[node] = via
	}
}

// wrap is the Relay that carries msg, for node's actor of kind, to the
// relay; false if msg is not one to relay (not an Envelope, or a Relay
// itself: one hop only).
func (r *relayRoutes) wrap(node, kind string, msg proto.Message) (*clusterpb.Envelope, bool) {
	env, ok := msg.(*clusterpb.Envelope)
	if !ok || env.GetRelay() != nil {
		return nil, false
	}
	return &clusterpb.Envelope{Node: r.self, Incarnation: r.incarnation, Version: protocolVersion,
		Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: node, Kind: kind, Envelope: env}}}, true
}

// relayState is the provider's side of relaying: what it carries for each
// origin (relayBudget), and the bound on relayed messages waiting for the
// tracker.
type relayState struct {
	budgets map[string]*relayBudget // by origin
	box     mailbox                 // relayed tracker messages queued for the tracker
	tracker *actor.PID
}

type relayBudget struct{ msgs, bytes bucket }

// take spends one message of size bytes from origin's relay budget.
func (s *relayState) take(origin string, size int, now time.Time) bool {
	if s.budgets == nil {
		s.budgets = make(map[string]*relayBudget)
	}
	b, ok := s.budgets[origin]
	if !ok {
		b = &relayBudget{msgs: newBucket(relayMessages, now), bytes: newBucket(relayBytes, now)}
		s.budgets[origin] = b
	}
	// Bytes are checked first so that a message refused for its size does
	// not cost a message token too.
	if !b.bytes.take(float64(size), now) {
		return false
	}
	return b.msgs.take(1, now)
}

// directWithin is how recently a peer's heartbeat must have come on a
// direct connection for us to say we hear it directly: two heartbeats, or
// a third of the failure timeout if that is longer, so that a relay starts
// well before the peer would be declared down.
func (p *provider) directWithin() time.Duration {
	return max(2*p.cfg.Heartbeat, p.cfg.PeerTimeout/3)
}

func (p *provider) hearsDirect(peer *peerLiveness, now time.Time) bool {
	return !peer.direct.IsZero() && now.Sub(peer.direct) <= p.directWithin()
}

// reaches is the ids of our peers that a peer's heartbeat lists up (its
// gossip), into buf: at most one entry per peer of ours.
func (p *provider) reaches(buf []string, members []*clusterpb.Member) []string {
	for i, m := range members {
		if i >= len(p.order) {
			break
		}
		if _, ok := p.peers[m.GetNode()]; ok && !slices.Contains(buf, m.GetNode()) {
			buf = append(buf, m.GetNode())
		}
	}
	return buf
}

// relay handles a Relay from sender: as the relay (from empty, sender is
// the origin) or as the destination (from set, sender is the relay).
func (p *provider) relay(c *actor.Context, sender *peerLiveness, env *clusterpb.Envelope, r *clusterpb.Relay) {
	now := time.Now()
	if r.GetFrom() == "" {
		p.carry(c.PID(), sender, env, r, now)
		return
	}
	p.relayDeliver(c, sender, r, now)
}

// carry sends an origin's envelope on to its destination, if it is the
// origin's own, the destination is up here, and the origin has budget left.
func (p *provider) carry(self *actor.PID, origin *peerLiveness, env *clusterpb.Envelope, r *clusterpb.Relay, now time.Time) {
	inner := r.GetEnvelope()
	dest, ok := p.peers[r.GetTo()]
	switch {
	case inner == nil || inner.GetRelay() != nil || inner.GetNode() != origin.ID || inner.GetIncarnation() != env.GetIncarnation():
		p.relayRefused(slog.LevelWarn, origin.ID, "not the sender's own envelope")
	case env.GetIncarnation() != origin.incarnation || origin.state != stateUp:
		p.relayRefused(slog.LevelInfo, origin.ID, "the sender is not up here")
	case !validKind(r.GetKind()):
		p.relayRefused(slog.LevelWarn, origin.ID, "not for a tracker or a provider")
	case !ok || dest.ID == origin.ID || dest.state != stateUp || dest.hearsay():
		p.relayRefused(slog.LevelInfo, origin.ID, "the destination is not up here")
	case !p.relayState.take(origin.ID, proto.Size(inner), now):
		p.relayRefused(slog.LevelWarn, origin.ID, "over the relay budget")
	default:
		out := &clusterpb.Envelope{Node: p.self.ID, Incarnation: p.sys.incarnation, Version: protocolVersion,
			Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: dest.ID, From: origin.ID, Kind: r.GetKind(), Envelope: inner}}}
		if p.links.send(dest.ID, kindProvider, self, out) {
			p.state.stats.relayCarried.Add(1)
		}
	}
}

// relayDeliver takes an envelope a relay carried for us, as if its origin
// had sent it directly: only while the origin is not heard directly (a
// relayed copy is then a duplicate at best), and never a refusal or an
// address (those only on a direct connection).
func (p *provider) relayDeliver(c *actor.Context, relay *peerLiveness, r *clusterpb.Relay, now time.Time) {
	inner := r.GetEnvelope()
	origin, ok := p.peers[r.GetFrom()]
	switch {
	case r.GetTo() != p.self.ID || !ok || origin.ID == relay.ID || origin.hearsay():
		p.relayRefused(slog.LevelWarn, relay.ID, "not for us, or from no peer of ours")
	case inner == nil || inner.GetNode() != origin.ID || inner.GetRelay() != nil || !validKind(r.GetKind()):
		p.relayRefused(slog.LevelWarn, relay.ID, "not an envelope of the origin's")
	case !versionNear(inner.GetVersion()):
		p.relayRefused(slog.LevelWarn, relay.ID, "the origin's protocol version is two or more from ours")
	case p.hearsDirect(origin, now):
		p.state.stats.relayDuplicates.Add(1) // the direct path works again
	case r.GetKind() == kindTracker:
		if !p.relayState.box.take() {
			p.state.stats.inboxDropped.Add(1)
			return
		}
		p.state.stats.relayDelivered.Add(1)
		c.Send(p.relayState.tracker, fromPeer{msg: inner, box: &p.relayState.box})
	default:
		// Another incarnation only once the one we knew is silent past
		// the failure timeout (a node restarted during the partition):
		// while we hear one, a rival is judged on a direct connection
		// (cluster_duplicate.go). The relay carries only the incarnation
		// it has up on its own authenticated link (carry), and heard
		// still takes new incarnations at mayRenew's pace.
		if inner.GetIncarnation() != origin.incarnation && p.hearing(origin, now) {
			p.relayRefused(slog.LevelInfo, relay.ID, "not the origin's incarnation we hear")
			return
		}
		if inner.GetHeartbeat().GetRefuses() != 0 {
			p.relayRefused(slog.LevelWarn, relay.ID, "a refusal")
			return
		}
		p.state.stats.relayDelivered.Add(1)
		p.relaying = true
		p.heard(c, inner)
		p.relaying = false
	}
}

func validKind(kind string) bool { return kind == kindTracker || kind == kindProvider }

// versionNear is the gate's version rule (checkVersion) for an envelope
// that came through a relay.
func versionNear(v uint32) bool {
	if v == 0 {
		v = 1
	}
	d := int64(v) - protocolVersion
	return d >= -1 && d <= 1
}

// relayRefused counts and logs a Relay refused. A node or incarnation not
// up here is normal for a moment around a restart or a stall (the origin
// relays until it is heard again): INFO; anything else is a broken or
// hostile peer: WARN.
func (p *provider) relayRefused(level slog.Level, peer, why string) {
	p.state.stats.relayRefused.Add(1)
	p.log.Log(level, "relay/"+peer+"/"+why, "cluster relay message refused", "node", p.self.ID, "peer", peer, "reason", why)
}

// route decides, for each peer, whether our messages to it also go through
// a relay: while it says it does not hear us directly (it hears us through
// a relay already, or not at all), or we have heard nothing of it, directly
// or relayed, for directWithin. (In a one-way partition the side that is
// not heard may then relay for a heartbeat or two too, until the other
// side's relayed heartbeat says it hears us directly; its copies are
// dropped as duplicates.) If we hear it directly, any third peer up
// here may relay (a one-way partition: it carries to a peer it has up); if
// we do not (a symmetric or partial partition), only a third peer whose
// last heartbeat lists it up, and only to a peer that was up here or that
// we hear through a relay now (a restart during the partition). Liveness
// is still judged by the peer's own heartbeats, direct or relayed, so a
// dead peer still goes down after the failure timeout. The relay is kept
// while it works; if the destination still does not hear us after the
// failure timeout, the next one is tried. The direct link is recycled as
// often, so the direct path takes over when it heals. It returns the peers
// whose relay just started or changed: they get a heartbeat through it at
// once, so they stop missing us sooner.
func (p *provider) route(now time.Time) (started []*peerLiveness) {
	for _, id := range p.order {
		peer := p.peers[id]
		direct := p.hearsDirect(peer, now)
		deaf := !peer.hearsUs || peer.relayedUs || now.Sub(peer.heard) > p.directWithin()
		known := peer.everUp || (!direct && p.hearing(peer, now))
		via := ""
		if known && !peer.hearsay() && deaf {
			via = p.pickRelay(peer, direct, now)
		}
		if via == peer.relayVia {
			if via != "" && now.Sub(peer.relayAt) > p.cfg.PeerTimeout {
				p.links.recycle(id) // the direct path: dial again, it may have healed
				peer.relayAt = now
			}
			continue
		}
		if via == "" {
			p.log.Info("relay/"+id, "cluster peer relay stopped", "node", p.self.ID, "peer", id, "via", peer.relayVia)
		} else {
			p.log.Info("relay/"+id, "cluster peer does not hear us directly: relaying through another", "node", p.self.ID, "peer", id, "via", via, "direct", direct)
		}
		peer.relayVia, peer.relayAt = via, now
		p.links.relay.set(id, via)
		if via != "" {
			started = append(started, peer)
		}
	}
	return started
}

// pickRelay keeps peer's relay while it is usable and the destination
// hears us (or it is new), else takes the next usable peer after it in id
// order: one up here, that also has peer up unless we hear peer directly.
func (p *provider) pickRelay(peer *peerLiveness, direct bool, now time.Time) string {
	usable := func(id string) bool {
		r := p.peers[id]
		return id != peer.ID && r.state == stateUp && !r.hearsay() && (direct || slices.Contains(r.reaches, peer.ID))
	}
	if peer.relayVia != "" && usable(peer.relayVia) && (peer.hearsUs || now.Sub(peer.relayAt) <= p.cfg.PeerTimeout) {
		return peer.relayVia
	}
	start := 0
	for i, id := range p.order {
		if id == peer.relayVia {
			start = i + 1
		}
	}
	for i := range p.order {
		if id := p.order[(start+i)%len(p.order)]; usable(id) {
			return id
		}
	}
	return ""
}
