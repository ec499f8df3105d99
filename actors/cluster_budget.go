package actors

import (
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// A peer holds a valid certificate, but a stolen key or a buggy build makes
// it hostile: ~1,100 snapshots a second grew a node's memory by 200 MB/s
// (issue 20). So what each peer may send is budgeted where its traffic is
// read (clusterRemote.Receive): messages a second and bytes a second, each
// a token bucket holding budgetBurst seconds of its rate. Bytes over budget
// slow the peer's reads down (TCP pushes back on it); messages over budget
// are dropped and counted. A peer still over budget after
// BudgetConfig.Grace is disconnected, and its connections are refused for
// BudgetConfig.Cooldown.

// BudgetConfig is what one peer may send this node. The zero value of each
// field means its default (see ClusterConfig.Budget).
type BudgetConfig struct {
	// Messages is how many messages a second a peer may send. Zero value
	// means defaultBudgetMessages.
	Messages float64
	// Bytes is how many bytes a second a peer may send. Zero value means
	// defaultBudgetBytes.
	Bytes float64
	// Grace is how long a peer may stay over budget (every second with a
	// message dropped or a read slowed) before it is disconnected. Zero
	// value means defaultBudgetGrace.
	Grace time.Duration
	// Cooldown is how long a disconnected peer's connections are refused.
	// Zero value means defaultBudgetCooldown.
	Cooldown time.Duration
}

// BudgetConfig's zero values mean these. In a 3-node cluster with a hot
// post (1,500 readers at 5 Hz, docs/security.md) a peer sent at most 540
// messages and 163 KB in any second; the defaults leave about ten and fifty
// times that.
const (
	defaultBudgetMessages = 5000
	defaultBudgetBytes    = 8 << 20
	defaultBudgetGrace    = 3 * time.Second
	defaultBudgetCooldown = 30 * time.Second
	// budgetBurst is how many seconds of its rates a peer may send at once.
	budgetBurst = 2
)

func (b *BudgetConfig) setDefaults() {
	setDefault(&b.Messages, defaultBudgetMessages)
	setDefault(&b.Bytes, defaultBudgetBytes)
	setDefault(&b.Grace, defaultBudgetGrace)
	setDefault(&b.Cooldown, defaultBudgetCooldown)
}

// bucket is a token bucket: rate tokens a second, at most burst held.
type bucket struct {
	tokens, rate, burst float64
	at                  time.Time
}

func newBucket(rate float64, now time.Time) bucket {
	return bucket{tokens: rate * budgetBurst, rate: rate, burst: rate * budgetBurst, at: now}
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(b.burst, b.tokens+d*b.rate)
	}
	b.at = now
}

// take spends n tokens if there are that many.
func (b *bucket) take(n float64, now time.Time) bool {
	b.refill(now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// charge spends n tokens, going into debt if need be, and says how long
// until the debt is paid.
func (b *bucket) charge(n float64, now time.Time) time.Duration {
	b.refill(now)
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// budgets holds every peer's budget, keyed by who the peer is (peerInfo.id).
type budgets struct {
	cfg   BudgetConfig
	stats *clusterStats

	mu    sync.Mutex
	peers map[string]*peerBudget
}

type peerBudget struct {
	mu          sync.Mutex
	msgs, bytes bucket
	overSince   time.Time // start of the current episode over budget; zero if under
	overLast    time.Time // last time it was over budget
	bannedUntil time.Time
	conns       map[net.Conn]bool // open, to close them all on a disconnect
	// forgotten: the provider forgot the node (budgets.forget); the entry
	// goes once no connection and no cooldown holds it.
	forgotten bool
}

func newBudgets(cfg BudgetConfig, stats *clusterStats) *budgets {
	cfg.setDefaults()
	if stats == nil {
		stats = &clusterStats{}
	}
	return &budgets{cfg: cfg, stats: stats, peers: make(map[string]*peerBudget)}
}

func (bs *budgets) of(peer string) *peerBudget {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	pb, ok := bs.peers[peer]
	if !ok {
		now := time.Now()
		pb = &peerBudget{msgs: newBucket(bs.cfg.Messages, now), bytes: newBucket(bs.cfg.Bytes, now), conns: make(map[net.Conn]bool)}
		bs.peers[peer] = pb
		bs.sweep(now) // a forgotten one whose cooldown has ended since
	}
	return pb
}

// forget drops the budgets of a node the provider has forgotten (one that
// joined and left): their number is bounded by the identities the CA
// signed, but they would pile up across churn. An entry still holding a
// connection or a cooldown stays until both are over, so a peer cannot
// shed its budget by being forgotten. Without TLS budgets are keyed by IP
// address, which no node id matches: they stay.
func (bs *budgets) forget(node string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for key, pb := range bs.peers {
		if slices.Contains(strings.Split(key, ","), node) {
			pb.mu.Lock()
			pb.forgotten = true
			pb.mu.Unlock()
		}
	}
	bs.sweep(time.Now())
}

// sweep drops the forgotten entries that nothing holds. Called with bs.mu
// held.
func (bs *budgets) sweep(now time.Time) {
	for key, pb := range bs.peers {
		pb.mu.Lock()
		done := pb.forgotten && len(pb.conns) == 0 && !now.Before(pb.bannedUntil)
		pb.mu.Unlock()
		if done {
			delete(bs.peers, key)
		}
	}
}

// admit registers conn as one of peer's connections, or refuses it (false)
// while the peer is cooling down.
func (bs *budgets) admit(peer string, conn net.Conn) bool {
	pb := bs.of(peer)
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if time.Now().Before(pb.bannedUntil) {
		bs.stats.budgetRefused.Add(1)
		return false
	}
	pb.conns[conn] = true
	pb.forgotten = false // it is back
	return true
}

func (bs *budgets) release(peer string, conn net.Conn) {
	pb := bs.of(peer)
	pb.mu.Lock()
	delete(pb.conns, conn)
	last := pb.forgotten && len(pb.conns) == 0
	pb.mu.Unlock()
	if last {
		bs.mu.Lock()
		bs.sweep(time.Now())
		bs.mu.Unlock()
	}
}

// over notes that the peer is over budget now; past the grace it is
// disconnected (every connection closed) and banned for the cooldown, and
// over says so. Called with pb.mu held.
func (bs *budgets) over(pb *peerBudget, now time.Time) (disconnected bool) {
	if pb.overSince.IsZero() || now.Sub(pb.overLast) > time.Second {
		pb.overSince = now // a new episode: a second under budget ended the last
	}
	pb.overLast = now
	if now.Sub(pb.overSince) < bs.cfg.Grace {
		return false
	}
	pb.overSince = time.Time{}
	pb.bannedUntil = now.Add(bs.cfg.Cooldown)
	// Fresh buckets for when it comes back: it starts with its burst.
	pb.msgs, pb.bytes = newBucket(bs.cfg.Messages, pb.bannedUntil), newBucket(bs.cfg.Bytes, pb.bannedUntil)
	for c := range pb.conns {
		_ = c.Close()
	}
	bs.stats.budgetDisconnects.Add(1)
	return true
}

// messages spends n message tokens and says how many of the n may be
// delivered (the rest are dropped: counted, and an over-budget episode),
// and whether the peer was disconnected for it.
func (bs *budgets) messages(peer string, n int) (allowed int, disconnected bool) {
	pb := bs.of(peer)
	pb.mu.Lock()
	defer pb.mu.Unlock()
	now := time.Now()
	pb.msgs.refill(now)
	allowed = min(n, int(max(0, pb.msgs.tokens)))
	pb.msgs.tokens -= float64(allowed)
	if allowed == n {
		return n, false
	}
	bs.stats.budgetDropped.Add(int64(n - allowed))
	return allowed, bs.over(pb, now)
}

// read charges n bytes read from the peer and says how long to wait before
// reading more (0 within budget).
func (bs *budgets) read(peer string, n int) (wait time.Duration, disconnected bool) {
	bs.stats.bytesReceived.Add(int64(n))
	pb := bs.of(peer)
	pb.mu.Lock()
	defer pb.mu.Unlock()
	now := time.Now()
	wait = pb.bytes.charge(float64(n), now)
	if wait == 0 {
		return 0, false
	}
	bs.stats.budgetThrottled.Add(1)
	return wait, bs.over(pb, now)
}

// budgetConn charges what is read from a peer's connection to its budget,
// and waits out the debt before the next read: a peer over its bytes
// budget is slowed down, not just counted.
type budgetConn struct {
	net.Conn
	peer    string
	budgets *budgets
	debt    time.Duration
	done    <-chan struct{} // the server is stopping
}

func (c *budgetConn) Read(b []byte) (int, error) {
	if c.debt > 0 {
		t := time.NewTimer(c.debt)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
		}
		c.debt = 0
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		wait, _ := c.budgets.read(c.peer, n)
		c.debt = wait
	}
	return n, err
}
