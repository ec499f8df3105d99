package actors

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"

	"github.com/readtag/readtag/actors/clusterpb"
)

// Two live processes under one node id (a second `c` started with c's
// certificate on another port) used to flap the whole cluster: the peers
// took each one's incarnation and address in turn, and the tracker dropped
// and re-synced c's readers on every message of the other (tens of
// thousands of false leaves in 25 s, nothing at WARN). Now the provider
// keeps the incarnation it hears (the established process) and sets any
// other that heartbeats meanwhile aside as a rival:
//   - a rival is a restart if the established incarnation falls silent
//     once the rival appeared: after rivalWait it is taken, as before;
//   - a rival is a duplicate if the established incarnation is still heard
//     more than a heartbeat after the rival appeared: both are alive. The
//     rival is refused for as long as it lives, loudly (an ERROR line and a
//     counter), and told so at the address it announces (a Heartbeat with
//     refuses set); a node refused by a peer that does not count it up
//     stops with a clear error (Presence.Failed).
//
// The tracker takes messages only from the incarnation the provider has
// taken (incarnations), so a rival's deltas or snapshots never reach the
// established process's replica and nobody's ghost flickers.

// incarnations is each peer's incarnation the provider has taken (0: none
// yet, or it said goodbye), for the tracker.
type incarnations struct{ m sync.Map }

func (i *incarnations) set(node string, inc uint64) { i.m.Store(node, inc) }

// admits says whether a message of node's incarnation inc is taken: when it
// is the provider's, or the provider has none.
func (i *incarnations) admits(node string, inc uint64) bool {
	v, ok := i.m.Load(node)
	return !ok || v.(uint64) == 0 || v.(uint64) == inc
}

// rival is another incarnation of a peer, heard while the established one
// is also heard.
type rival struct {
	inc         uint64
	first, last time.Time
	addr        string    // where it says it listens
	refused     bool      // a duplicate: ignored while it lives
	toldAt      time.Time // when we last sent it its refusal
}

// rivalWait is how long a rival waits, with the established incarnation
// silent, before it is taken as a restart: three heartbeats, so that a
// late heartbeat of a live established process cannot make us take the
// rival and then refuse the established one.
func (p *provider) rivalWait() time.Duration { return 3 * p.cfg.Heartbeat }

// rivalMay judges a heartbeat of incarnation inc of peer while its
// established incarnation is heard: true takes inc (a restart), false
// ignores the heartbeat.
func (p *provider) rivalMay(c *actor.Context, peer *peerLiveness, inc uint64, addr string, now time.Time) bool {
	r := &peer.rival
	if r.inc != inc || now.Sub(r.last) > p.cfg.PeerTimeout {
		*r = rival{inc: inc, first: now}
	}
	r.last, r.addr = now, addr
	switch {
	case r.refused:
		p.tellRefused(c, peer, now)
		return false
	case peer.heard.After(r.first.Add(p.cfg.Heartbeat)):
		p.refuse(c, peer, now)
		return false
	case now.Sub(r.first) >= p.rivalWait():
		return true
	}
	return false
}

// establishedHeard checks, when the established incarnation of peer is
// heard, whether a rival is alive too.
func (p *provider) establishedHeard(c *actor.Context, peer *peerLiveness, now time.Time) {
	r := &peer.rival
	if r.inc == 0 || r.inc == peer.incarnation || r.refused || now.Sub(r.last) > p.cfg.PeerTimeout {
		return
	}
	if now.Sub(r.first) > p.cfg.Heartbeat {
		p.refuse(c, peer, now)
	}
}

func (p *provider) refuse(c *actor.Context, peer *peerLiveness, now time.Time) {
	r := &peer.rival
	r.refused = true
	p.state.stats.duplicatesRefused.Add(1)
	p.log.Log(slog.LevelError, "duplicate/"+peer.ID, "cluster node id in use by two live processes: the newcomer is refused (give each node its own --node-id and certificate)",
		"node", p.self.ID, "peer", peer.ID, "kept_incarnation", peer.incarnation, "kept_addr", p.links.addr(peer.ID),
		"refused_incarnation", r.inc, "refused_addr", r.addr)
	p.tellRefused(c, peer, now)
}

// tellRefused sends a refused rival its refusal, at the address it
// announces, at most once per ChangeEvery (a rival, or a stolen key, can
// make us dial no faster), off the actor: our links go to the established
// process.
func (p *provider) tellRefused(c *actor.Context, peer *peerLiveness, now time.Time) {
	r := &peer.rival
	if r.addr == "" || len(r.addr) > 255 || (!r.toldAt.IsZero() && now.Sub(r.toldAt) < p.cfg.ChangeEvery) {
		return
	}
	if _, _, err := net.SplitHostPort(r.addr); err != nil {
		return
	}
	r.toldAt = now
	none := uint64(0)
	env := &clusterpb.Envelope{Node: p.self.ID, Incarnation: p.sys.incarnation, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{
		Hears: &none, Addr: p.advertise(), Refuses: r.inc, InUseAt: p.links.addr(peer.ID),
	}}}
	go p.links.once(peer.ID, r.addr, kindProvider, c.PID(), env)
}

// once dials node at addr (which must present node's certificate), sends
// msg to its actor of the given kind, and closes: a message to a process
// our link does not go to.
func (l *links) once(node, addr, kind string, sender *actor.PID, msg *clusterpb.Envelope) {
	ctx, cancel := context.WithTimeout(l.ctx, l.dialTimeout)
	defer cancel()
	k := &link{l: l, node: node}
	conn, stream, err := k.dial(ctx, addr)
	if err != nil {
		l.rlog.Info("once/"+node, "cluster refusal not delivered", "peer", node, "addr", addr, "err", err)
		return
	}
	defer conn.Close()
	ser := remote.ProtoSerializer{}
	data, err := ser.Serialize(msg)
	if err != nil {
		return
	}
	env := &remote.Envelope{
		TypeNames: []string{ser.TypeName(msg)},
		Targets:   []*actor.PID{actor.NewPID(addr, kind+"/"+node)},
		Senders:   []*actor.PID{sender},
		Messages:  []*remote.Message{{Data: data}},
	}
	if err := stream.Send(env); err != nil {
		l.rlog.Info("once/"+node, "cluster refusal not delivered", "peer", node, "addr", addr, "err", err)
		return
	}
	// The stream ends once the remote has read (and delivered) what came
	// before our close, or at the dial timeout.
	_ = stream.CloseSend()
	_, _ = stream.Recv()
}

// refusedBy takes a peer's refusal of us: another process runs under our
// node id and the peer keeps that one. We stop, unless the peer counts us
// up (then we are the one it keeps, and the refusal is a lie or stale).
func (p *provider) refusedBy(peer *peerLiveness, hb *clusterpb.Heartbeat) {
	if hb.GetRefuses() != p.sys.incarnation {
		return
	}
	if peer.state == stateUp {
		p.log.Warn("refusal/"+peer.ID, "cluster peer says another process runs under our node id, but counts us up: ignored", "node", p.self.ID, "peer", peer.ID, "in_use_at", hb.GetInUseAt())
		return
	}
	err := fmt.Errorf("cluster: node id %q is already in use by another live process (peer %s hears it at %s) and this one was refused: give each node its own --node-id and certificate", p.self.ID, peer.ID, hb.GetInUseAt())
	p.log.Log(slog.LevelError, "", "cluster node refused: duplicate node id", "node", p.self.ID, "peer", peer.ID, "in_use_at", hb.GetInUseAt())
	p.state.fail(err)
}

// fail reports an error the node cannot serve on with (Presence.Failed).
func (st *clusterState) fail(err error) {
	select {
	case st.failed <- err:
	default:
	}
}
