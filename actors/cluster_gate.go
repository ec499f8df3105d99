package actors

import (
	"log/slog"
	"path"
	"slices"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/ratelog"
)

// gate decides which messages from the network reach this node's actors
// (the Authorize hook of the cluster remote, cluster_remote.go). Only a
// readtag Envelope, to this node's tracker or provider, from a configured
// peer, whose certificate (in TLS mode) names the node the Envelope claims
// to come from, and whose sender PID belongs to that node. Everything else, Hollywood's own cluster
// messages (Members, Deactivation, Activation, ActorTopology,
// ActivationRequest) included, is dropped: readtag's cluster agent learns
// members only from this node's provider.
//
// A node that lets others join (ClusterConfig.Joining) takes any node id
// instead of only configured peers', as long as the certificate names it:
// the cluster CA vouches for who may join. And every Envelope's protocol
// version must be within one of ours (checkVersion).
type gate struct {
	self  string
	peers map[string]bool
	open  bool // any node id may speak (see ClusterConfig.Joining)
	log   *ratelog.Logger
}

func newGate(self string, peers []Peer, open bool, log *slog.Logger) *gate {
	g := &gate{self: self, peers: make(map[string]bool), open: open, log: ratelog.New(log, 0)}
	for _, p := range peers {
		g.peers[p.ID] = true
	}
	return g
}

func (g *gate) authorize(peer peerInfo, target, sender *actor.PID, msg any) bool {
	reason := g.check(peer, target, sender, msg)
	if reason == "" {
		return true
	}
	g.log.Warn("", "cluster message refused", "reason", reason, "from", peer.addr(), "sender", pidString(sender),
		"to", target.GetID(), "type", typeName(msg))
	return false
}

func (g *gate) check(peer peerInfo, target, sender *actor.PID, msg any) string {
	env, ok := msg.(*clusterpb.Envelope)
	if !ok {
		return "not a readtag message"
	}
	if id := target.GetID(); id != kindTracker+"/"+g.self && id != kindProvider+"/"+g.self {
		return "not for this node's tracker or provider"
	}
	node := env.GetNode()
	if !g.peers[node] && !(g.open && validNodeID(node)) {
		return "not from a peer"
	}
	if peer.TLS != nil && (len(peer.TLS.PeerCertificates) == 0 || !slices.Contains(peer.TLS.PeerCertificates[0].DNSNames, node)) {
		return "certificate does not name the node it claims"
	}
	if sender == nil || path.Base(sender.GetID()) != node {
		return "sender does not belong to the node it claims"
	}
	if !g.checkVersion(peer, node, env.GetVersion()) {
		return "protocol version too far apart"
	}
	return ""
}

// guardAgent wraps Hollywood's cluster agent so that it acts on a member
// list only from this node's provider, and never on activation messages
// (readtag activates nothing). The gate already keeps them off the
// network; this keeps them off the agent whatever the route.
func guardAgent(agent actor.Producer, provider string) actor.Producer {
	return func() actor.Receiver { return &agentGuard{inner: agent(), provider: provider} }
}

type agentGuard struct {
	inner    actor.Receiver
	provider string // the provider's PID ID
}

func (a *agentGuard) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case *cluster.Members:
		if c.Sender().GetID() != a.provider || c.Sender().GetAddress() != c.PID().GetAddress() {
			return
		}
	case *cluster.Deactivation, *cluster.Activation, *cluster.ActorTopology, *cluster.ActivationRequest:
		return
	}
	a.inner.Receive(c)
}
