package actors

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"
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
	// NodeID names this engine in actor ids and logs. Zero value means
	// "local"; cluster mode needs a real one, unique in the cluster.
	NodeID string
	// CrowdThreshold is the room size from which a room switches to crowd
	// mode (see crowd.go); it switches back below three quarters of it.
	// Zero value means 64.
	CrowdThreshold int
	// CrowdVisible is how many other readers each reader is shown in crowd
	// mode. Zero value means 24.
	CrowdVisible int
	// Cluster, if set, makes this engine one node of a cluster: readers on
	// every node see each other. Zero value means a single node.
	Cluster *ClusterConfig
}

// Config's zero values mean these.
const (
	defaultTick           = 50 * time.Millisecond
	defaultNodeID         = "local"
	defaultCrowdThreshold = 64
	defaultCrowdVisible   = 24
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
	// Peers are the other nodes known from the start. Without Join and
	// PeersDNS only they can join.
	Peers []Peer
	// Join are seed addresses (host:port, or id@host:port) of nodes of a
	// running cluster: the node introduces itself to them, and learns the
	// other members from their gossip (cluster_members.go). Zero value
	// means no seeds.
	Join []string
	// PeersDNS is a name:port whose A/AAAA records are the cluster's nodes
	// (a headless service), resolved every ResolveEvery. Zero value means
	// none.
	PeersDNS string
	// Resolve looks up PeersDNS's host. Zero value means
	// net.DefaultResolver.LookupHost.
	Resolve func(ctx context.Context, host string) ([]string, error)
	// ResolveEvery is how often seeds and PeersDNS are looked at again.
	// Zero value means 5 * time.Second.
	ResolveEvery time.Duration
	// ForgetAfter is how long a node that joined (not one of Peers) may be
	// silent before it is forgotten: its link closed, its state dropped,
	// /healthz and /metrics no longer list it. Zero value means
	// 5 * time.Minute.
	ForgetAfter time.Duration
	// MaxMembers caps the peers this node keeps (Peers included): further
	// nodes that introduce themselves, or that gossip names, are refused.
	// Zero value means 64, or len(Peers)+1 if that is more.
	MaxMembers int
	// Heartbeat is how often a node tells its peers it is alive and what it
	// hears. Zero value means 500 * time.Millisecond.
	Heartbeat time.Duration
	// PeerTimeout is the failure timeout: how long a peer stays a member
	// (and keeps its readers) while nothing is heard from it, a broken
	// connection included. Zero value means 3 * time.Second.
	PeerTimeout time.Duration
	// ReadyAfter is the start-up grace: until then the node is ready only
	// once every peer is up; after it, once at least one is (a cluster with
	// a node down must still serve). Zero value means 10 * time.Second.
	ReadyAfter time.Duration
	// ChangeEvery is the least time between two changes of one peer that
	// the node takes: a new incarnation, a new address, coming up again
	// (that one after a burst of two, so a short partition heals at once).
	// Quicker ones wait (a peer flapping them, or someone with its stolen
	// key, cannot flip membership and readiness or make us dial at its
	// own pace). Zero value means PeerTimeout.
	ChangeEvery time.Duration
	// TLS, if set, makes nodes talk over mutual TLS only: the remote
	// listens with it and every link dials with it (ClusterCerts makes
	// it). Zero value means plain TCP, open to anyone who can reach Addr:
	// cmd/readtag allows that only on loopback (--cluster-insecure).
	TLS *tls.Config
	// MaxConns caps inbound cluster connections. Zero value means 64, or
	// 4 per peer if that is more.
	MaxConns int
	// IdleTimeout closes an inbound cluster connection that sends nothing
	// for that long. Zero value means 10 * time.Second, or 4 heartbeats if
	// that is more.
	IdleTimeout time.Duration
	// Budget is what each peer may send (cluster_budget.go); its zero
	// fields mean their defaults.
	Budget BudgetConfig
	// MaxRemoteReaders caps the readers one peer may have on this node:
	// further readers it announces are not created. Zero value means
	// defaultMaxRemoteReaders (cmd/readtag sets it from --max-readers).
	MaxRemoteReaders int
	// MaxPostReaders caps the readers one peer may have on one post. Zero
	// value means MaxRemoteReaders.
	MaxPostReaders int
}

// ClusterConfig's zero values mean these.
const (
	defaultHeartbeat   = 500 * time.Millisecond
	defaultPeerTimeout = 3 * time.Second
	defaultReadyAfter  = 10 * time.Second
	// MaxConns is the larger of defaultMaxConns and maxConnsPerPeer per
	// peer; IdleTimeout the larger of defaultIdleTimeout and
	// idleHeartbeats heartbeats.
	defaultMaxConns     = 64
	maxConnsPerPeer     = 4
	defaultIdleTimeout  = 10 * time.Second
	idleHeartbeats      = 4
	defaultResolveEvery = 5 * time.Second
	defaultForgetAfter  = 5 * time.Minute
	defaultMaxMembers   = 64
	// defaultMaxRemoteReaders is the most readers one node was measured
	// holding (docs/performance.md, idle: 15,000 readers).
	defaultMaxRemoteReaders = 15000
)

// ConfigError is a bad cluster configuration (a user error, not a failure).
type ConfigError struct{ msg string }

func (e *ConfigError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &ConfigError{msg: fmt.Sprintf(format, args...)}
}

// setDefaults fills in cfg's zero values and checks the rest. The
// ClusterConfig cfg points to is filled in too.
func (cfg *Config) setDefaults() error {
	setDefault(&cfg.Tick, defaultTick)
	if cfg.Tick < 0 {
		return fmt.Errorf("tick must be positive, got %v", cfg.Tick)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	setDefault(&cfg.CrowdThreshold, defaultCrowdThreshold)
	setDefault(&cfg.CrowdVisible, defaultCrowdVisible)
	if cfg.CrowdThreshold < 2 || cfg.CrowdVisible < 1 {
		return fmt.Errorf("crowd threshold %d and visible %d must be at least 2 and 1", cfg.CrowdThreshold, cfg.CrowdVisible)
	}
	setDefault(&cfg.NodeID, defaultNodeID)
	if err := cfg.Trace.validate(); err != nil {
		return err
	}
	if cfg.Cluster == nil {
		return nil
	}
	if err := cfg.Cluster.validate(cfg.NodeID); err != nil {
		return err
	}
	cc := cfg.Cluster
	setDefault(&cc.Heartbeat, defaultHeartbeat)
	setDefault(&cc.PeerTimeout, defaultPeerTimeout)
	setDefault(&cc.ReadyAfter, defaultReadyAfter)
	setDefault(&cc.ChangeEvery, cc.PeerTimeout)
	setDefault(&cc.MaxConns, max(defaultMaxConns, maxConnsPerPeer*len(cc.Peers)))
	setDefault(&cc.IdleTimeout, max(defaultIdleTimeout, idleHeartbeats*cc.Heartbeat))
	setDefault(&cc.ResolveEvery, defaultResolveEvery)
	setDefault(&cc.ForgetAfter, defaultForgetAfter)
	setDefault(&cc.MaxMembers, max(defaultMaxMembers, len(cc.Peers)+1))
	setDefault(&cc.MaxRemoteReaders, defaultMaxRemoteReaders)
	setDefault(&cc.MaxPostReaders, cc.MaxRemoteReaders)
	cc.Budget.setDefaults()
	if cc.MaxRemoteReaders < 0 || cc.MaxPostReaders < 0 || cc.Budget.Messages < 0 || cc.Budget.Bytes < 0 || cc.Budget.Grace < 0 || cc.Budget.Cooldown < 0 {
		return configErrorf("cluster: reader caps and budgets must be positive")
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (cc *ClusterConfig) validate(node string) error {
	if node == "" || node == defaultNodeID || !slugRE.MatchString(node) {
		return configErrorf("cluster: node id %q must be set, unique, and made of lowercase letters, digits and dashes", node)
	}
	if _, _, err := net.SplitHostPort(cc.Addr); err != nil {
		return configErrorf("cluster: address %q: want host:port", cc.Addr)
	}
	seen := map[string]bool{node: true}
	addrs := map[string]bool{cc.Addr: true}
	for _, peer := range cc.Peers {
		if !slugRE.MatchString(peer.ID) {
			return configErrorf("cluster: peer id %q: lowercase letters, digits and dashes", peer.ID)
		}
		if seen[peer.ID] {
			return configErrorf("cluster: node id %q appears twice (peers must differ from each other and from this node)", peer.ID)
		}
		if _, _, err := net.SplitHostPort(peer.Addr); err != nil {
			return configErrorf("cluster: peer %s address %q: want host:port", peer.ID, peer.Addr)
		}
		if addrs[peer.Addr] {
			return configErrorf("cluster: address %q appears twice", peer.Addr)
		}
		seen[peer.ID], addrs[peer.Addr] = true, true
	}
	return cc.validateJoin()
}

// remoteConfig sets up the cluster remote for this node (a filled-in
// ClusterConfig): the gate, the limits on inbound connections, each peer's
// budget and inboxes and, if configured, mutual TLS.
func (cc *ClusterConfig) remoteConfig(node string, log *slog.Logger, stats *clusterStats) (inboundConfig, error) {
	return inboundConfig{
		TLS:         cc.TLS,
		MaxConns:    cc.MaxConns,
		IdleTimeout: cc.IdleTimeout,
		Authorize:   newGate(node, cc.Peers, cc.Joining(), log).authorize,
		Budget:      &cc.Budget,
		Inbox:       peerInbox,
		Stats:       stats,
	}, nil
}
