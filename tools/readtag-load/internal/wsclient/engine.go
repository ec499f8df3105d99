package wsclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// Plan is one worker's share of a run. Every worker gets the same plan but
// its own Worker number: connection g (0 ≤ g < Conns) belongs to worker
// g mod Workers, and starts at Start + Spread·g/Conns. So the schedule, the
// target, post and source address of every connection are the same whatever
// the number of processes.
type Plan struct {
	Worker  int `json:"worker"`
	Workers int `json:"workers"`
	// Conns is the number of connections of the whole run.
	Conns  int           `json:"conns"`
	Start  time.Time     `json:"start"`
	Spread time.Duration `json:"spread"`
	// Rate is how often each reader scrolls after its welcome (Hz); 0 never.
	Rate float64 `json:"rate"`
	// Life, if set, closes each connection that long after its welcome.
	Life    time.Duration `json:"life"`
	Targets []string      `json:"targets"` // http://host:port
	Slugs   []string      `json:"slugs"`
	// Embeds, if set, are embedded pages (/ws/embed) that readers join
	// instead of Slugs, in the same order.
	Embeds    []protocol.EmbedPage `json:"embeds,omitempty"`
	SourceIPs []string             `json:"source_ips,omitempty"`
	// Seats, if set, place connection g on post Slugs[Seats[g].Post] and
	// target Targets[Seats[g].Target] instead of round-robin (hot --zipf).
	Seats []Seat `json:"seats,omitempty"`
	// Deadline is the hard stop: the worker closes everything by then even
	// if nobody tells it to.
	Deadline time.Time `json:"deadline"`
	// CPUProfile, if set, is where a worker process writes its CPU profile.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// Seat is where one connection of a planned run goes: indexes into the
// plan's Slugs and Targets.
type Seat struct {
	Post   int32 `json:"p"`
	Target int32 `json:"t"`
}

// target, room and source address of connection g. Readers go round-robin
// over the targets; consecutive readers on one target go to consecutive
// posts (or pages), so that every post has readers on every target (a
// cluster run must show readers of node A to readers of node B). Seats,
// when set, say both instead.
func (p *Plan) target(g int) string { return p.Targets[p.targetIndex(g)] }

// targetIndex is the index in Targets of connection g's target.
func (p *Plan) targetIndex(g int) int {
	if len(p.Seats) > 0 {
		return int(p.Seats[g].Target)
	}
	return g % len(p.Targets)
}

// room is what connection g joins: the room's name (a post's slug, an
// embedded page's canonical URL), the socket's path, and the Origin header
// it sends ("" none). The readers of one page take turns at its spellings,
// so one room's readers arrive under every spelling of its URL.
func (p *Plan) room(g int) (name, path, origin string) {
	i := g / len(p.Targets)
	if len(p.Embeds) > 0 {
		pg := p.Embeds[i%len(p.Embeds)]
		return pg.URL, protocol.EmbedPath(protocol.SpellPage(pg.URL, i/len(p.Embeds))), pg.Origin
	}
	s := p.Slugs[i%len(p.Slugs)]
	if len(p.Seats) > 0 {
		s = p.Slugs[p.Seats[g].Post]
	}
	return s, "/ws/posts/" + s, ""
}

func (p *Plan) source(g int) int {
	if len(p.SourceIPs) == 0 {
		return -1
	}
	return (g / len(p.Targets)) % len(p.SourceIPs)
}

// Timeouts of one connection. DialTimeout bounds the dial and the upgrade,
// WelcomeTimeout the wait from the upgrade to the welcome frame.
const (
	DialTimeout    = 15 * time.Second
	WelcomeTimeout = 10 * time.Second
	writeTimeout   = 10 * time.Second
	closeTimeout   = 2 * time.Second
	// maxFrame bounds one received frame: a welcome to the 20,000th reader
	// of a post is about 1.2 MB.
	maxFrame = 16 << 20
)

// nShards spreads the counters so that thousands of reading goroutines do
// not queue on one lock.
const nShards = 16

type shard struct {
	mu sync.Mutex
	st stats.Stats
	_  [64]byte // keep shards on separate cache lines
}

// Engine runs one worker's connections and counts what they see.
type Engine struct {
	plan    Plan
	dialers []*net.Dialer // one per source address, or one
	pollers []*poller     // read the connections (nil: a goroutine each)
	shards  [nShards]shard

	measuring atomic.Bool // count into Stats.Window too

	welcomeTimeout time.Duration // WelcomeTimeout; tests shorten it

	dialCtx    context.Context // cancelled when stopping, to abort dials
	cancelDial context.CancelFunc
	scrollStop chan struct{} // closed when stopping
	scrollers  []*scroller   // send every reader's scrolls (a plan with a rate)
	scrollN    atomic.Int64  // readers handed to the scrollers, to spread them

	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopping bool
	wg       sync.WaitGroup // connection goroutines
	sched    chan struct{}  // closed when the schedule has started every connection
	rare     sync.Mutex     // the failure maps
	failures stats.Stats    // DialErrors, Closes, ErrorTexts

	// nodeOf maps a reader id to the index of the target it joined, for
	// the same-node/cross-node split of latency (several targets only).
	nodeMu sync.RWMutex
	nodeOf map[string]int8

	open     atomic.Int64
	attempts atomic.Int64
	welcomed atomic.Int64
	failed   atomic.Int64
	closed   atomic.Int64
	lost     atomic.Int64
}

// New makes the engine of plan; Start starts it.
func New(plan Plan) *Engine {
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		plan:       plan,
		dialCtx:    ctx,
		cancelDial: cancel,
		scrollStop: make(chan struct{}),
		conns:      make(map[*conn]struct{}),
		sched:      make(chan struct{}),

		welcomeTimeout: WelcomeTimeout,
	}
	if plan.Rate > 0 {
		for range nScrollers {
			e.scrollers = append(e.scrollers, newScroller(e, plan.Rate))
		}
	}
	if n := len(plan.Targets); n > 1 && n <= 127 {
		e.nodeOf = make(map[string]int8)
	}
	if len(plan.SourceIPs) == 0 {
		e.dialers = []*net.Dialer{newDialer(nil)}
	}
	for _, ip := range plan.SourceIPs {
		e.dialers = append(e.dialers, newDialer(net.ParseIP(ip)))
	}
	e.pollers = newPollers()
	return e
}

func newDialer(local net.IP) *net.Dialer {
	nd := &net.Dialer{Timeout: DialTimeout}
	if local != nil {
		nd.LocalAddr = &net.TCPAddr{IP: local}
		// Without this, bind() reserves a port per source address for every
		// destination, which is what limits one address to ~28k sockets.
		nd.Control = bindNoPort
	}
	return nd
}

// dial opens a WebSocket to path on target (http://host:port or https://),
// sending origin as its Origin header unless it is "": the connection, what
// the server sent after its 101, and when the TCP connection was
// established (zero if it never was).
func dial(ctx context.Context, nd *net.Dialer, target, path, origin string) (nc net.Conn, rest []byte, connected time.Time, err error) {
	secure := strings.HasPrefix(target, "https://")
	host := strings.TrimPrefix(strings.TrimPrefix(target, "https://"), "http://")
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if secure {
			port = "443"
		}
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	if nc, err = nd.DialContext(ctx, "tcp", host); err != nil {
		return nil, nil, connected, err
	}
	connected = time.Now()
	if secure {
		tc, err := dialTLS(ctx, nc, host)
		if err != nil {
			_ = nc.Close()
			return nil, nil, connected, err
		}
		nc = tc
	}
	if rest, err = upgrade(ctx, nc, host, path, origin); err != nil {
		_ = nc.Close()
		return nil, nil, connected, err
	}
	return nc, rest, connected, nil
}

// Start launches the schedule; connections open on their own time.
func (e *Engine) Start() {
	for _, s := range e.scrollers {
		go s.run()
	}
	go e.schedule()
}

func (e *Engine) schedule() {
	defer close(e.sched)
	p := &e.plan
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for g := p.Worker; g < p.Conns; g += p.Workers {
		at := p.Start
		if p.Conns > 0 {
			at = p.Start.Add(time.Duration(float64(p.Spread) * float64(g) / float64(p.Conns)))
		}
		if d := time.Until(at); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-e.dialCtx.Done():
				return
			}
		}
		e.mu.Lock()
		stopping := e.stopping
		if !stopping {
			e.wg.Add(1)
		}
		e.mu.Unlock()
		if stopping {
			return
		}
		go e.connect(g)
	}
}

// connect runs connection g from dial to its upgrade, then hands it to
// its reading side (conn.start), which ends it.
func (e *Engine) connect(g int) {
	handed := false
	defer func() {
		if !handed {
			e.wg.Done()
		}
	}()
	p := &e.plan
	d := e.dialers[0]
	if i := p.source(g); i >= 0 {
		d = e.dialers[i]
	}
	room, path, origin := p.room(g)
	c := &conn{e: e, g: g, slug: room, shard: &e.shards[g%nShards], done: make(chan struct{})}
	if e.nodeOf != nil {
		c.f.NodeOf = e.node
	}
	e.attempts.Add(1)
	c.dialStart = time.Now()
	ctx, cancel := context.WithTimeout(e.dialCtx, DialTimeout)
	nc, rest, connected, err := dial(ctx, d, p.target(g), path, origin)
	cancel()
	c.upgraded = time.Now()
	if err != nil {
		if e.isStopping() {
			return // aborted by the stop, not a failure of the server
		}
		e.failed.Add(1)
		e.count(&e.failures.DialErrors, dialClass(err))
		return
	}
	sh := c.shard
	sh.mu.Lock()
	sh.st.ConnectTime.Record(connected.Sub(c.dialStart).Microseconds())
	sh.st.UpgradeTime.Record(c.upgraded.Sub(connected).Microseconds())
	sh.st.HandshakeTime.Record(c.upgraded.Sub(c.dialStart).Microseconds())
	sh.mu.Unlock()
	c.attach(nc)
	if !e.track(c) {
		c.sock.release()
		return
	}
	handed = true
	c.start(rest)
}

func (e *Engine) track(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

func (e *Engine) untrack(c *conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}

func (e *Engine) isStopping() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopping
}

// count adds one to a failure map.
func (e *Engine) count(m *map[string]int64, key string) {
	if len(key) > 200 {
		key = key[:200]
	}
	e.rare.Lock()
	if *m == nil {
		*m = make(map[string]int64)
	}
	(*m)[key]++
	e.rare.Unlock()
}

// dialClass names why a dial failed, coarsely enough to group thousands.
func dialClass(err error) string {
	var errno syscall.Errno
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timeout"
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return "connection refused"
		case syscall.ECONNRESET:
			return "connection reset"
		case syscall.EADDRNOTAVAIL:
			return "no free local port (EADDRNOTAVAIL): add --source-ips"
		case syscall.EMFILE, syscall.ENFILE:
			return "too many open files (tool)"
		}
		return errno.Error()
	case errors.Is(err, errBadHandshake):
		return "bad handshake"
	}
	return "other: " + err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// SetMeasuring starts or stops counting into the window.
func (e *Engine) SetMeasuring(on bool) { e.measuring.Store(on) }

// Snapshot merges the shards into one Stats.
func (e *Engine) Snapshot() stats.Stats {
	var s stats.Stats
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		s.Merge(&sh.st)
		sh.mu.Unlock()
	}
	e.rare.Lock()
	f := e.failures.Clone()
	e.rare.Unlock()
	s.DialErrors, s.Closes, s.ErrorTexts = f.DialErrors, f.Closes, f.ErrorTexts
	s.Attempts = e.attempts.Load()
	s.Welcomed = e.welcomed.Load()
	s.Failed = e.failed.Load()
	s.Open = e.open.Load()
	s.Closed = e.closed.Load()
	s.Lost = e.lost.Load()
	s.CPUTicks = stats.SelfCPUTicks()
	s.Workers = 1
	return s
}

// View is one reader's view of its post, as a fingerprint: how many other
// readers it shows and the XOR of their id hashes.
type View struct {
	ID    string `json:"id"`
	Post  string `json:"post"`
	Count int    `json:"n"`
	XOR   uint64 `json:"x"`
	// Crowd is set once the reader got a crowd frame; Total is the room
	// size that frame announced.
	Crowd bool `json:"crowd,omitempty"`
	Total int  `json:"total,omitempty"`
}

// Views reports every open, welcomed connection's view, and how many open
// connections still wait for their welcome.
func (e *Engine) Views() (vs []View, pending int) {
	e.mu.Lock()
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		switch {
		case c.ending:
		case c.id == "":
			pending++
		default:
			vs = append(vs, View{ID: c.id, Post: c.slug, Count: c.viewN, XOR: c.viewX, Crowd: c.crowd, Total: c.total})
		}
		c.mu.Unlock()
	}
	return vs, pending
}

// Stop closes every connection (close frame, then the socket) and waits for
// them, within bounds, and returns the final stats.
func (e *Engine) Stop() stats.Stats {
	e.mu.Lock()
	already := e.stopping
	e.stopping = true
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	if !already {
		e.measuring.Store(false)
		e.cancelDial()
		close(e.scrollStop)
	}
	for _, c := range conns {
		c.leave()
	}
	done := make(chan struct{})
	go func() {
		<-e.sched
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout + 3*time.Second):
		// Peers that answer nothing: drop the sockets.
		e.mu.Lock()
		for c := range e.conns {
			c.sock.cut()
		}
		e.mu.Unlock()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	stopPollers(e.pollers)
	return e.Snapshot()
}

// node is the index of the target the reader with this id joined, or -1
// when this process does not know it (another worker's reader).
func (e *Engine) node(id []byte) int8 {
	e.nodeMu.RLock()
	n, ok := e.nodeOf[string(id)]
	e.nodeMu.RUnlock()
	if !ok {
		return -1
	}
	return n
}
