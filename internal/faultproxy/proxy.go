// Package faultproxy is a TCP proxy for tests that injects network faults
// between two loopback endpoints: black holes, delay, resets, refused and
// accept-then-reset connections, each per direction where that means
// something. The cluster fault tests put one on every link between nodes.
//
// It only ever listens on and connects to loopback addresses.
package faultproxy

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Dir is a direction of traffic through the proxy.
type Dir int

const (
	// Forward is from the client that dialled the proxy to the target.
	Forward Dir = iota
	// Backward is from the target back to the client.
	Backward
)

func (d Dir) String() string { return [...]string{"forward", "backward"}[d] }

// Proxy forwards every connection made to Addr to one target.
type Proxy struct {
	target string

	mu          sync.Mutex
	ln          net.Listener
	addr        string
	changed     chan struct{} // closed and replaced on every fault change
	hold        [2]bool
	delay       [2]time.Duration
	refuse      bool
	acceptReset bool
	pairs       map[*pair]struct{}
	closed      bool
	accepted    int
	wg          sync.WaitGroup
}

type pair struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
}

func (p *pair) close(reset bool) {
	p.once.Do(func() {
		for _, c := range []net.Conn{p.client, p.server} {
			if tc, ok := c.(*net.TCPConn); ok && reset {
				_ = tc.SetLinger(0) // close sends RST
			}
			_ = c.Close()
		}
		close(p.done)
	})
}

// New starts a proxy on a free loopback port in front of target, which must
// be a loopback host:port.
func New(target string) (*Proxy, error) { return NewAt("127.0.0.1:0", target) }

// NewAt starts a proxy listening on addr in front of target, both loopback
// host:port. Refuse(false) listens on addr again, so a caller that keeps
// addr reserved gets it back; a port that port 0 gave out may have gone to
// anyone while the proxy refused.
func NewAt(addr, target string) (*Proxy, error) {
	if err := loopback("target", target); err != nil {
		return nil, err
	}
	if err := loopback("address", addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, addr: ln.Addr().String(), changed: make(chan struct{}), pairs: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

func loopback(what, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("faultproxy: %s %q: %w", what, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("faultproxy: %s %q is not a loopback address", what, addr)
	}
	return nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.addr }

// Accepted is how many connections the proxy has accepted.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// set changes the faults under the lock and wakes every pump.
func (p *Proxy) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
}

// BlackHole stops (on) or resumes forwarding in one direction. Held data
// waits, as in a partition where TCP retransmits until the path heals;
// connections are still accepted.
func (p *Proxy) BlackHole(d Dir, on bool) { p.set(func() { p.hold[d] = on }) }

// Delay holds every chunk of data in one direction for d before passing it on.
func (p *Proxy) Delay(dir Dir, d time.Duration) { p.set(func() { p.delay[dir] = d }) }

// AcceptThenReset makes new connections be accepted and reset at once.
func (p *Proxy) AcceptThenReset(on bool) { p.set(func() { p.acceptReset = on }) }

// Reset resets every open connection (both sides get an RST).
func (p *Proxy) Reset() {
	p.mu.Lock()
	pairs := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		pairs = append(pairs, pr)
	}
	p.mu.Unlock()
	for _, pr := range pairs {
		pr.close(true)
	}
}

// Refuse closes the listening port (dials are refused) or opens it again on
// the same address.
func (p *Proxy) Refuse(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || on == p.refuse {
		return nil
	}
	p.refuse = on
	if on {
		return p.ln.Close()
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// Heal removes every fault (open connections stay as they are).
func (p *Proxy) Heal() error {
	p.set(func() {
		p.hold = [2]bool{}
		p.delay = [2]time.Duration{}
		p.acceptReset = false
	})
	return p.Refuse(false)
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	_ = p.ln.Close()
	p.mu.Unlock()
	p.Reset()
	p.wg.Wait()
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		reset, closed := p.acceptReset, p.closed
		p.mu.Unlock()
		if reset || closed {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		if tc, ok := client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = client.Close()
		return
	}
	pr := &pair{client: client, server: server, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pr.close(true)
		return
	}
	p.pairs[pr] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(pr, Forward, client, server) }()
	go func() { defer wg.Done(); p.pump(pr, Backward, server, client) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
}

type chunk struct {
	at   time.Time
	data []byte
}

// pump copies src to dst through the direction's faults. A reader goroutine
// stamps chunks; this one delays or holds them. When the queue is full the
// reader stops reading, so the sender feels back-pressure as on a real path.
func (p *Proxy) pump(pr *pair, d Dir, src, dst net.Conn) {
	queue := make(chan chunk, 256)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case queue <- chunk{at: time.Now(), data: buf[:n]}:
				case <-pr.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer pr.close(false)
	for c := range queue {
		for {
			p.mu.Lock()
			held, delay, changed := p.hold[d], p.delay[d], p.changed
			p.mu.Unlock()
			wait := time.Until(c.at.Add(delay))
			if !held && wait <= 0 {
				break
			}
			var timer *time.Timer
			var fire <-chan time.Time
			if !held {
				timer = time.NewTimer(wait)
				fire = timer.C
			}
			select {
			case <-changed:
			case <-fire:
			case <-pr.done:
			}
			if timer != nil {
				timer.Stop()
			}
			select {
			case <-pr.done:
				return
			default:
			}
		}
		if _, err := dst.Write(c.data); err != nil {
			return
		}
	}
}
