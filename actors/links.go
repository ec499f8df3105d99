package actors

import (
	"net"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// links decides whether a message may be sent to a peer node now. Hollywood
// v1.0.5 sends everything for every peer through one router actor, and the
// first message to an address with no open stream makes that router dial it
// synchronously, with 3 tries and 0+1+2 s of sleeps: a single send to a dead
// node stalls all remote traffic of this node for ~3 s. So readtag sends to
// a peer only while Hollywood has a live stream to it, or just after a dial
// of our own (off the actors' goroutines) found it listening.
type links struct {
	engine *actor.Engine

	mu      sync.Mutex
	probed  map[string]time.Time // addr → when our own dial last succeeded
	probing map[string]bool
}

func newLinks(e *actor.Engine) *links {
	return &links{engine: e, probed: make(map[string]time.Time), probing: make(map[string]bool)}
}

// probeFresh is how long a successful probe lets messages through before
// Hollywood's own stream has been set up.
const probeFresh = 2 * time.Second

// ok reports whether a send to addr cannot stall the router.
func (l *links) ok(addr string) bool {
	if l.engine.Registry.GetPID("stream", addr) != nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.probed[addr]) < probeFresh
}

// linkUp tells an actor whose send was held back that a probe of addr
// succeeded, so it can send again at once.
type linkUp struct{ addr string }

func (m linkUp) traceInfo() (string, string, []any) { return "", "", []any{"addr", m.addr} }

// send delivers msg to pid if its node is reachable without a stall, and
// otherwise starts a probe in the background, which sends linkUp to the
// caller if the node answers; it reports whether it sent.
func (l *links) send(c *actor.Context, pid *actor.PID, msg any) bool {
	if l.ok(pid.Address) {
		c.Send(pid, msg)
		return true
	}
	l.probe(pid.Address, c.PID())
	return false
}

// probe dials addr in the background, once at a time per address.
func (l *links) probe(addr string, notify *actor.PID) {
	l.mu.Lock()
	if l.probing[addr] {
		l.mu.Unlock()
		return
	}
	l.probing[addr] = true
	l.mu.Unlock()
	go func() {
		conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		l.mu.Lock()
		delete(l.probing, addr)
		if err == nil {
			_ = conn.Close()
			l.probed[addr] = time.Now()
		}
		l.mu.Unlock()
		if err == nil {
			l.engine.Send(notify, linkUp{addr: addr})
		}
	}()
}

// down forgets a successful probe: the stream to addr just broke.
func (l *links) down(addr string) {
	l.mu.Lock()
	delete(l.probed, addr)
	l.mu.Unlock()
}
