package actors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag/actors/clusterpb"
)

// Nodes that join a running cluster (docs/cluster.md, "Joining").
//
// A node started with seeds (ClusterConfig.Join) or a DNS name
// (ClusterConfig.PeersDNS) finds nodes by address: its discovery goroutine
// dials each address it does not already have a link to, reads the node id
// from the certificate presented there (the cluster CA vouches for it) and
// tells the provider, which makes it a peer like a configured one: a link,
// heartbeats, the two-way handshake. A node it heartbeats learns of it
// directly (admit), and every heartbeat of a joining node lists the peers it
// has up (Heartbeat.members), so that one seed is enough to find them all
// (learnMembers). A node that joined and is then silent for ForgetAfter (or
// for PeerTimeout after its Goodbye) is forgotten.
//
// Everything a peer can make us hold is bounded: MaxMembers peers in all;
// at most maxHearsay names learned from gossip that have not come up yet,
// each dropped after ReadyAfter if it does not (an invented name never
// does: no one holds its certificate); at most MaxMembers entries read from
// one heartbeat; one probe per address per ResolveEvery.

// protocolVersion is the cluster protocol this node speaks (Envelope.version).
// A peer one version apart is served, what it sends that we do not know
// ignored; one two or more apart is refused (gate.checkVersion). Raise it
// when a change needs the other side to understand it (docs/cluster.md,
// "Versions").
const protocolVersion = 1

// maxHearsay bounds the nodes learned from gossip that have not come up.
const maxHearsay = 8

// How a peer that joined became known.
const (
	viaIntroduced = "introduced" // it heartbeated us itself
	viaSeed       = "seed"       // a --join address
	viaDNS        = "dns"        // a --peers-dns address
	viaGossip     = "gossip"     // a peer listed it
)

// joinInfo is what the provider keeps of a peer that joined at run time.
type joinInfo struct {
	via    string    // empty for a configured peer
	added  time.Time // when it became known
	goneAt time.Time // its last Goodbye
}

// joinState is the provider's discovery goroutine.
type joinState struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// discovered is a node found at an address by the discovery goroutine.
type discovered struct{ node, addr, via string }

func (m discovered) traceInfo() (string, string, []any) {
	return "", "", []any{"peer", m.node, "addr", m.addr, "via", m.via}
}

// hearsay reports whether the peer is only a name in gossip so far: it is
// not listed in /healthz nor counted for readiness until it comes up.
func (pl *peerLiveness) hearsay() bool { return pl.via == viaGossip && !pl.everUp }

// Joining reports whether this node admits nodes that are not configured
// peers: it has seeds or a DNS name. A node with only Peers does not.
func (cc *ClusterConfig) Joining() bool { return len(cc.Join) > 0 || cc.PeersDNS != "" }

// validateJoin checks the seeds, the DNS name and the caps.
func (cc *ClusterConfig) validateJoin() error {
	for _, s := range cc.Join {
		id, addr := splitSeed(s)
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return configErrorf("cluster: seed %q: want host:port or id@host:port", s)
		}
		if id != "" && !validNodeID(id) {
			return configErrorf("cluster: seed %q: the id must be lowercase letters, digits and dashes", s)
		}
		if id == "" && cc.TLS == nil {
			return configErrorf("cluster: seed %q: without TLS a seed needs its id (id@host:port); with TLS it is read from its certificate", s)
		}
	}
	if cc.PeersDNS != "" {
		if _, _, err := net.SplitHostPort(cc.PeersDNS); err != nil {
			return configErrorf("cluster: DNS name %q: want name:port", cc.PeersDNS)
		}
		if cc.TLS == nil {
			return configErrorf("cluster: joining by DNS name needs TLS: a node's id is read from its certificate")
		}
	}
	if cc.MaxMembers < 0 || (cc.MaxMembers > 0 && cc.MaxMembers < len(cc.Peers)+1) {
		return configErrorf("cluster: at most %d members is fewer than this node and its %d peers", cc.MaxMembers, len(cc.Peers))
	}
	if cc.ForgetAfter < 0 || cc.ResolveEvery < 0 {
		return configErrorf("cluster: forget-after and resolve period must be positive")
	}
	return nil
}

// splitSeed splits "id@host:port" (id may be absent).
func splitSeed(s string) (id, addr string) {
	if id, addr, ok := strings.Cut(s, "@"); ok {
		return id, addr
	}
	return "", s
}

// validNodeID bounds what a peer's id may be: a slug of at most 63 bytes
// (a DNS label, as it must be a certificate's DNS name).
func validNodeID(id string) bool { return len(id) <= 63 && slugRE.MatchString(id) }

// checkVersion lets through a peer at most one protocol version from ours;
// another is refused, with one line per episode at error. An absent
// version (0) is a node older than the field: version 1.
func (g *gate) checkVersion(peer peerInfo, node string, v uint32) bool {
	if v == 0 {
		v = 1
	}
	if d := int64(v) - protocolVersion; d >= -1 && d <= 1 {
		return true
	}
	g.log.Log(slog.LevelError, "version/"+node, "cluster peer refused: its protocol version is two or more from ours (upgrade one version at a time, docs/cluster.md)",
		"peer", node, "from", peer.addr(), "version", v, "ours", protocolVersion)
	return false
}

// AdmitJoiners makes the node accept a connection from any node whose
// certificate the cluster CA signed, not only from its peers (for
// ClusterConfig.Join and PeersDNS). The gate still checks that every
// message comes from the node the certificate names.
func (c *ClusterCerts) AdmitJoiners() { c.open.Store(true) }

// verify checks a peer's certificate chain for a TLS handshake.
func (c *ClusterCerts) verify(ca *x509.CertPool, chain []*x509.Certificate) error {
	if !c.open.Load() {
		return verifyPeer(ca, c.peers, chain)
	}
	if err := verifyChain(ca, chain); err != nil {
		return err
	}
	if !slices.ContainsFunc(chain[0].DNSNames, validNodeID) {
		return fmt.Errorf("certificate names %v, none of them a node id", chain[0].DNSNames)
	}
	return nil
}

// certNode is the one node id the verified certificate of a connection
// names, or "" if it names none or several.
func certNode(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	var id string
	for _, name := range cs.PeerCertificates[0].DNSNames {
		if validNodeID(name) {
			if id != "" {
				return ""
			}
			id = name
		}
	}
	return id
}

// admit makes a node that heartbeats us, unknown so far, a peer: the gate
// has checked that its certificate names it. Only while joining is on.
func (p *provider) admit(c *actor.Context, env *clusterpb.Envelope) (*peerLiveness, bool) {
	hb := env.GetHeartbeat()
	if !p.cfg.Joining() || hb == nil {
		return nil, false
	}
	addr := hb.GetAddr()
	if _, _, err := net.SplitHostPort(addr); err != nil || len(addr) > 255 {
		p.log.Warn("unreachable", "cluster node refused: it announces no address to reach it on (give it a --cluster-addr with a host)", "node", p.self.ID, "peer", env.GetNode())
		return nil, false
	}
	return p.addPeer(env.GetNode(), addr, viaIntroduced, time.Now())
}

// discovered takes a node found at an address by the discovery goroutine.
func (p *provider) discovered(c *actor.Context, d discovered) {
	if _, ok := p.peers[d.node]; ok || d.node == p.self.ID {
		return
	}
	if _, ok := p.addPeer(d.node, d.addr, d.via, time.Now()); ok {
		p.update(c)
	}
}

// learnMembers takes the members a peer lists in its heartbeat: those we
// do not know become peers (hearsay until they come up).
func (p *provider) learnMembers(c *actor.Context, members []*clusterpb.Member, now time.Time) {
	if !p.cfg.Joining() {
		return
	}
	for i, m := range members {
		if i >= p.cfg.MaxMembers {
			return
		}
		if _, ok := p.peers[m.GetNode()]; ok || m.GetNode() == p.self.ID {
			continue
		}
		if _, _, err := net.SplitHostPort(m.GetAddr()); err != nil || len(m.GetAddr()) > 255 {
			continue
		}
		p.addPeer(m.GetNode(), m.GetAddr(), viaGossip, now)
	}
}

// addPeer makes node at addr a peer, within the caps.
func (p *provider) addPeer(node, addr, via string, now time.Time) (*peerLiveness, bool) {
	if !validNodeID(node) || node == p.self.ID {
		return nil, false
	}
	if len(p.peers)+1 >= p.cfg.MaxMembers {
		p.state.stats.membersRefused.Add(1)
		p.log.Warn("members-cap", "cluster node refused: at the member cap", "node", p.self.ID, "peer", node, "via", via, "max", p.cfg.MaxMembers)
		return nil, false
	}
	if via == viaGossip {
		n := 0
		for _, pl := range p.peers {
			if pl.hearsay() {
				n++
			}
		}
		if n >= maxHearsay {
			p.state.stats.membersRefused.Add(1)
			p.log.Warn("hearsay-cap", "cluster gossip ignored: too many gossiped nodes have not come up", "node", p.self.ID, "peer", node, "max", maxHearsay)
			return nil, false
		}
	}
	if !p.links.add(node, addr) {
		return nil, false
	}
	peer := &peerLiveness{Peer: Peer{ID: node, Addr: addr}, state: stateDown, joinInfo: joinInfo{via: via, added: now}}
	p.peers[node] = peer
	i, _ := slices.BinarySearch(p.order, node)
	p.order = slices.Insert(p.order, i, node)
	p.state.stats.membersJoined.Add(1)
	key := "joined/" + node // a node its certificate vouches for: one line each
	if via == viaGossip {
		key = "joined/" + via // a name anyone joined may invent: one line per episode
	}
	p.log.Info(key, "cluster node learned", "node", p.self.ID, "peer", node, "addr", addr, "via", via)
	return peer, true
}

// forget drops the peers that joined and have been silent too long: a
// hearsay name after ReadyAfter, a node that said Goodbye after
// PeerTimeout, any other after ForgetAfter. It reports whether any was.
func (p *provider) forget(c *actor.Context, now time.Time) bool {
	var gone []string
	for _, id := range p.order {
		peer := p.peers[id]
		if peer.via == "" || peer.state == stateUp {
			continue
		}
		last := peer.added
		for _, t := range []time.Time{peer.heard, peer.acked, peer.goneAt} {
			if t.After(last) {
				last = t
			}
		}
		switch {
		case peer.hearsay() && now.Sub(peer.added) > p.cfg.ReadyAfter,
			!peer.goneAt.IsZero() && !peer.heard.After(peer.goneAt) && now.Sub(peer.goneAt) > p.cfg.PeerTimeout,
			now.Sub(last) > p.cfg.ForgetAfter:
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		peer := p.peers[id]
		delete(p.peers, id)
		p.order = slices.DeleteFunc(p.order, func(s string) bool { return s == id })
		p.links.remove(id)
		if p.state.budgets != nil {
			p.state.budgets.forget(id)
		}
		p.state.stats.membersForgotten.Add(1)
		if !peer.hearsay() {
			p.log.Info("forgotten/"+id, "cluster node forgotten", "node", p.self.ID, "peer", id, "via", peer.via, "heard_ago", age(peer.heard, now))
		}
	}
	return len(gone) > 0
}

// alone reports whether a node that knows no peer may serve: a node
// without seeds or DNS name is a single node; one with them is the first of
// its cluster once ReadyAfter has passed without finding another.
func (p *provider) alone() bool {
	return !p.cfg.Joining() || time.Since(p.started) > p.cfg.ReadyAfter
}

// gossip lists the peers we have up, but to, for our heartbeat to to: a
// joining node learns the others from it, and every node where it may
// relay (cluster_relay.go), so static clusters send it too.
func (p *provider) gossip(to string) []*clusterpb.Member {
	var out []*clusterpb.Member
	for _, id := range p.order {
		if id != to && p.peers[id].state == stateUp {
			out = append(out, &clusterpb.Member{Node: id, Addr: p.links.addr(id)})
		}
	}
	return out
}

func (p *provider) startDiscovery(c *actor.Context) {
	if !p.cfg.Joining() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.join = joinState{cancel: cancel, done: make(chan struct{})}
	d := &discovery{cfg: p.cfg, self: p.self.ID, links: p.links, engine: c.Engine(), to: c.PID(), p: p}
	go func() {
		defer close(p.join.done)
		d.run(ctx)
	}()
}

func (p *provider) stopDiscovery() {
	if p.join.cancel != nil {
		p.join.cancel()
		<-p.join.done
	}
}

// discovery finds nodes at the seed and DNS addresses, off the actors: it
// resolves and dials.
type discovery struct {
	cfg    ClusterConfig
	self   string
	links  *links
	engine *actor.Engine
	to     *actor.PID
	p      *provider // for its logger only (ratelog is safe for concurrent use)
}

func (d *discovery) run(ctx context.Context) {
	for {
		d.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.cfg.ResolveEvery):
		}
	}
}

// round looks at every seed and DNS address once.
func (d *discovery) round(ctx context.Context) {
	type target struct{ id, addr, via string }
	var targets []target
	for _, s := range d.cfg.Join {
		id, addr := splitSeed(s)
		targets = append(targets, target{id, addr, viaSeed})
	}
	if d.cfg.PeersDNS != "" {
		for _, addr := range d.resolve(ctx) {
			targets = append(targets, target{"", addr, viaDNS})
		}
	}
	for i, t := range targets {
		if ctx.Err() != nil || i >= d.cfg.MaxMembers {
			return
		}
		if t.addr == d.cfg.Addr || d.links.connectedTo(t.addr) {
			continue
		}
		if t.id == "" {
			t.id = d.probe(ctx, t.addr)
		}
		if t.id != "" && t.id != d.self {
			d.engine.Send(d.to, discovered{node: t.id, addr: t.addr, via: t.via})
		}
	}
}

// resolve looks up PeersDNS: the addresses of its A/AAAA records, with its
// port.
func (d *discovery) resolve(ctx context.Context) []string {
	host, port, _ := net.SplitHostPort(d.cfg.PeersDNS)
	lookup := d.cfg.Resolve
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	rctx, cancel := context.WithTimeout(ctx, d.cfg.ResolveEvery)
	defer cancel()
	hosts, err := lookup(rctx, host)
	if err != nil {
		d.p.log.Warn("resolve", "cluster DNS name did not resolve", "node", d.self, "name", d.cfg.PeersDNS, "err", err)
		return nil
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, net.JoinHostPort(h, port))
	}
	return out
}

// probe dials addr and reads the node id from its certificate, which the
// handshake has checked against the cluster CA.
func (d *discovery) probe(ctx context.Context, addr string) string {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: d.cfg.PeerTimeout / 2}, Config: d.cfg.TLS}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		d.p.log.Info("probe/"+addr, "cluster address did not answer as a node", "node", d.self, "addr", addr, "err", err)
		return ""
	}
	defer conn.Close()
	id := certNode(conn.(*tls.Conn).ConnectionState())
	if id == "" {
		d.p.log.Warn("probe-id", "cluster address presents a certificate naming no single node id", "node", d.self, "addr", addr)
	}
	return id
}

// dropForgotten clears what the tracker keeps per peer (when it last
// answered, our stream's seq, what it wants) for the nodes that are no
// longer members nor peers: the provider forgot them (links.remove). Their
// number is bounded by the identities the CA signed, but they would pile
// up across churn. A forgotten node that comes back starts afresh: its
// first message finds a seq gap, and it asks for a full sync.
func (t *tracker) dropForgotten() {
	gone := func(node string) bool { return t.peers[node] == nil && !t.links.has(node) }
	for node := range t.answered {
		if gone(node) {
			delete(t.answered, node)
		}
	}
	for node := range t.out {
		if gone(node) {
			delete(t.out, node)
		}
	}
	for node := range t.wants {
		if gone(node) {
			delete(t.wants, node)
		}
	}
}
