//go:build faults

// The cluster fault suite: real readtag processes with a fault-injecting TCP
// proxy (internal/faultproxy) on every link between two nodes, and real
// WebSocket readers whose screens are compared with the truth. It takes a
// few minutes, so it is behind a build tag:
//
//	go test -tags faults -run TestFaults -v ./cmd/readtag
//
// The time bounds are the protocol's promises (a stale or duplicate ghost is
// gone within 5 s of a fault, views converge within 2 s of the heal), with
// the defaults of --cluster flags: heartbeat 0.5 s, failure timeout 3 s.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/faultproxy"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

const (
	faultPost = "actors-in-go"
	// staleBound is how long after a fault a ghost may still show a reader
	// across it; healBound how long after the heal views may differ.
	staleBound = 5 * time.Second
	healBound  = 2 * time.Second
)

// world is a cluster under test: nodes, a proxy per ordered pair of nodes
// (from → to, in front of to), and readers with the positions they scrolled to.
type world struct {
	t       *testing.T
	certs   string // the cluster CA and each node's certificate
	nodes   map[string]*node
	ids     []string
	proxies map[[2]string]*faultproxy.Proxy
	readers []*reader
	nextPos int
	// cut says whether from's readers are hidden from to's (and must be):
	// set by the test to the fault it injects.
	cut map[[2]string]bool
}

type reader struct {
	c    *client.Conn
	n    *node
	pos  float64
	mark int  // frames before the current check window
	old  bool // was connected at the mark
}

func startWorld(t *testing.T, ids ...string) *world {
	t.Helper()
	w := &world{t: t, certs: makeCerts(t, ids...), nodes: map[string]*node{}, ids: ids, proxies: map[[2]string]*faultproxy.Proxy{}, cut: map[[2]string]bool{}}
	ports := testutil.FreeAddrs(t, 2*len(ids))
	for i, id := range ids {
		w.nodes[id] = &node{id: id, http: ports[2*i], cluster: ports[2*i+1]}
	}
	for _, from := range ids {
		for _, to := range ids {
			if from == to {
				continue
			}
			w.proxies[[2]string{from, to}] = testutil.NewProxy(t, w.nodes[to].cluster)
		}
	}
	for _, id := range ids {
		n := w.nodes[id]
		f, err := os.Create(filepath.Join(t.TempDir(), id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n.log = f
		n.args = w.args(id, n.cluster)
		n.start(t)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, id := range ids {
				b, _ := os.ReadFile(w.nodes[id].log.Name())
				t.Logf("--- log of node %s (last 6 KB):\n%s", id, tail(b, 6144))
			}
		}
	})
	w.formed()
	return w
}

// args are id's command line; its peers are reached through the proxies.
func (w *world) args(id, clusterAddr string) []string {
	var peers []string
	for _, other := range w.ids {
		if other != id {
			peers = append(peers, other+"@"+w.proxies[[2]string{id, other}].Addr())
		}
	}
	return append([]string{"--addr", w.nodes[id].http, "--node-id", id, "--cluster-addr", clusterAddr,
		"--peers", strings.Join(peers, ","), "--log-format", "json"}, tlsArgs(w.certs, id)...)
}

func (w *world) formed() time.Duration {
	w.t.Helper()
	return within(w.t, 15*time.Second, "every node to see every peer up", func() bool {
		for _, n := range w.nodes {
			st, ok := status(n)
			if !ok || !st.Ready || len(st.Members) != len(w.ids) {
				return false
			}
		}
		return true
	})
}

// metric is the value of a sample of n's /metrics ("" if absent).
func metric(n *node, name string) string {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(n.url() + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// healthz is a node's /healthz.
type healthz struct {
	Ready   bool     `json:"ready"`
	Members []string `json:"members"`
	Missing []string `json:"missing"`
	Peers   []struct {
		ID       string `json:"id"`
		Addr     string `json:"addr"`
		State    string `json:"state"`
		Link     bool   `json:"link"`
		HeardAgo *int64 `json:"heard_ago_ms"`
	} `json:"peers"`
}

func status(n *node) (h healthz, ok bool) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(n.url() + "/healthz")
	if err != nil {
		return h, false
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&h) != nil || h.Ready != (resp.StatusCode == 200) {
		return h, false
	}
	return h, true
}

func (h healthz) state(peer string) string {
	for _, p := range h.Peers {
		if p.ID == peer {
			return p.State
		}
	}
	return ""
}

// join connects a reader to node id and scrolls it somewhere new.
func (w *world) join(id string) *reader {
	w.t.Helper()
	r := &reader{c: dial(w.t, w.nodes[id], faultPost), n: w.nodes[id]}
	w.readers = append(w.readers, r)
	w.scroll(r)
	return r
}

func (w *world) leave(r *reader) {
	_ = r.c.Close()
	w.readers = slices.DeleteFunc(w.readers, func(x *reader) bool { return x == r })
}

func (w *world) scroll(r *reader) {
	w.nextPos++
	r.pos = float64(w.nextPos%89+5) / 100
	_ = r.c.Scroll(r.pos)
}

func (w *world) scrollAll() {
	for _, r := range w.readers {
		w.scroll(r)
	}
}

// truth is what r must see: every other reader whose node is not cut off
// from r's, at its position.
func (w *world) truth(r *reader) map[string]float64 {
	out := map[string]float64{}
	for _, o := range w.readers {
		if o != r && !w.cut[[2]string{o.n.id, r.n.id}] {
			out[o.c.You().ID] = o.pos
		}
	}
	return out
}

func (w *world) sees(r *reader) bool {
	want := w.truth(r)
	got := r.c.Ghosts()
	if len(got) != len(want) {
		return false
	}
	for _, g := range got {
		p, ok := want[g.ID]
		if !ok || math.Abs(p-g.Position) > 1e-9 {
			return false
		}
	}
	return true
}

// converge waits until every reader sees the truth, for at most d.
func (w *world) converge(d time.Duration, what string) time.Duration {
	w.t.Helper()
	start := time.Now()
	for {
		var wrong []string
		for _, r := range w.readers {
			if !w.sees(r) {
				wrong = append(wrong, fmt.Sprintf("%s@%s sees %v, want %v", r.c.You().ID, r.n.id, r.c.Ghosts(), w.truth(r)))
			}
		}
		if len(wrong) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > d {
			w.t.Fatalf("not within %v: %s:\n%s", d, what, strings.Join(wrong, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cutOff hides from's readers from to's, or shows them again.
func (w *world) cutOff(from, to string, on bool) { w.cut[[2]string{from, to}] = on }

// proxy is the proxy on the link from → to.
func (w *world) proxy(from, to string) *faultproxy.Proxy { return w.proxies[[2]string{from, to}] }

// blackHole stops (or resumes) everything from → to, on both connections
// between them (from's link to to, and the replies on to's link to from).
func (w *world) blackHole(from, to string, on bool) {
	w.proxy(from, to).BlackHole(faultproxy.Forward, on)
	w.proxy(to, from).BlackHole(faultproxy.Backward, on)
}

func (w *world) healAll() {
	w.t.Helper()
	for _, p := range w.proxies {
		if err := p.Heal(); err != nil {
			w.t.Fatal(err)
		}
	}
	clear(w.cut)
}

// markFrames starts a new window for noFalseLeaves.
func (w *world) markFrames() {
	for _, r := range w.readers {
		r.mark, r.old = len(r.c.Frames()), true
	}
}

// noFalseLeaves fails if any reader saw, since its mark, a reader leave or
// join who never left and whose node was never cut off from its own (keep
// says which node pairs were never cut in the window).
func (w *world) noFalseLeaves(keep func(from, to string) bool) {
	w.t.Helper()
	live := map[string]*reader{} // connected since the mark
	for _, r := range w.readers {
		if r.old {
			live[r.c.You().ID] = r
		}
	}
	for _, r := range w.readers {
		if !r.old {
			continue
		}
		for _, f := range r.c.Frames()[r.mark:] {
			var id string
			switch f.Type {
			case "leave":
				id = f.ID
			case "join":
				id = f.Reader.ID
			default:
				continue
			}
			if o, ok := live[id]; ok && keep(o.n.id, r.n.id) {
				w.t.Errorf("%s@%s saw live reader %s@%s %s (a false %s)", r.c.You().ID, r.n.id, id, o.n.id, f.Type, f.Type)
			}
		}
	}
}

// noDuplicates replays every reader's frames: a join for a ghost already
// shown would be the same person twice.
func (w *world) noDuplicates() {
	w.t.Helper()
	for _, r := range w.readers {
		shown := map[string]bool{}
		for _, f := range r.c.Frames() {
			switch f.Type {
			case "welcome":
				clear(shown)
				for _, o := range f.Readers {
					if shown[o.ID] {
						w.t.Errorf("%s's welcome lists %s twice", r.c.You().ID, o.ID)
					}
					shown[o.ID] = true
				}
			case "join":
				if shown[f.Reader.ID] {
					w.t.Errorf("%s@%s was told %s joined while it was shown already", r.c.You().ID, r.n.id, f.Reader.ID)
				}
				shown[f.Reader.ID] = true
			case "leave":
				delete(shown, f.ID)
			}
		}
	}
}

// freshWelcomes dials a new reader on every node and checks that its welcome
// lists exactly the truth (the other fresh readers aside).
func (w *world) freshWelcomes() {
	w.t.Helper()
	fresh := map[string]bool{}
	for _, id := range w.ids {
		c := dial(w.t, w.nodes[id], faultPost)
		wel, _, err := c.WaitFrame(context.Background(), "welcome", 0)
		if err != nil {
			w.t.Fatal(err)
		}
		probe := &reader{c: c, n: w.nodes[id]}
		want := w.truth(probe)
		fresh[c.You().ID] = true
		got := map[string]float64{}
		for _, o := range wel.Readers {
			if !fresh[o.ID] {
				got[o.ID] = o.Position
			}
		}
		if len(got) != len(want) {
			w.t.Errorf("a fresh reader on %s is welcomed with %v, want %v", id, got, want)
		}
		for k, p := range want {
			if q, ok := got[k]; !ok || math.Abs(p-q) > 1e-9 {
				w.t.Errorf("a fresh reader on %s is welcomed with %v, want %v", id, got, want)
				break
			}
		}
		_ = c.Close()
	}
}

// readersOn puts n readers on each node.
func (w *world) readersOn(n int) {
	for _, id := range w.ids {
		for range n {
			w.join(id)
		}
	}
}

// peerState waits until node id reports peer in state.
func (w *world) peerState(id, peer, state string, d time.Duration) time.Duration {
	w.t.Helper()
	return within(w.t, d, fmt.Sprintf("%s to report %s %s", id, peer, state), func() bool {
		st, ok := status(w.nodes[id])
		return ok && st.state(peer) == state
	})
}

// linksUp waits until every node reports every peer up with a connection.
func (w *world) linksUp(d time.Duration) time.Duration {
	w.t.Helper()
	return within(w.t, d, "every link up again", func() bool {
		for _, n := range w.nodes {
			st, ok := status(n)
			if !ok {
				return false
			}
			for _, p := range st.Peers {
				if p.State != "up" || !p.Link {
					return false
				}
			}
		}
		return true
	})
}

func always(string, string) bool { return true }

// relayWatch is how long the relay cases watch the screens through a
// fault: four failure timeouts.
const relayWatch = 12 * time.Second

// scrollRounds has everyone scroll, in rounds 250 ms apart, for d, and
// watches every screen, sampled every 20 ms: slowest is the longest a round
// took to be on every screen (each within staleBound), missing the longest
// a reader on some screen missed another that must be shown, wherever it
// was.
func (w *world) scrollRounds(d time.Duration) (slowest, missing time.Duration) {
	w.t.Helper()
	start := time.Now()
	var since time.Time // since when someone is missing
	for time.Since(start) < d {
		w.scrollAll()
		round := time.Now()
		for {
			all, lacking := true, false
			for _, r := range w.readers {
				all = all && w.sees(r)
				shown := map[string]bool{}
				for _, g := range r.c.Ghosts() {
					shown[g.ID] = true
				}
				for id := range w.truth(r) {
					lacking = lacking || !shown[id]
				}
			}
			switch {
			case lacking && since.IsZero():
				since = time.Now()
			case !lacking && !since.IsZero():
				missing, since = max(missing, time.Since(since)), time.Time{}
			}
			if all {
				slowest = max(slowest, time.Since(round))
				break
			}
			if time.Since(round) > staleBound {
				w.t.Fatalf("a round of scrolls not on every screen within %v, %v into the fault", staleBound, time.Since(start).Round(time.Millisecond))
			}
			time.Sleep(20 * time.Millisecond) // the sampling period
		}
		time.Sleep(250 * time.Millisecond) // the scrolls' rhythm, not a wait for a result
	}
	return slowest, missing
}

// relayedUp checks that every node reports every peer up and is ready,
// d into a fault a relay carries.
func (w *world) relayedUp(d time.Duration) {
	w.t.Helper()
	for _, id := range w.ids {
		st, ok := status(w.nodes[id])
		if !ok || !st.Ready || len(st.Missing) != 0 {
			w.t.Errorf("%v into the fault %s reports ready %v, missing %v", d, id, st.Ready, st.Missing)
		}
		for _, p := range st.Peers {
			if p.State != "up" {
				w.t.Errorf("%v into the fault %s reports %s %s, want up", d, id, p.ID, p.State)
			}
		}
	}
}

func TestFaults(t *testing.T) {
	t.Run("OneReset", func(t *testing.T) {
		w := startWorld(t, "a", "b", "c")
		w.readersOn(2)
		w.converge(5*time.Second, "the cluster to show everyone")
		w.markFrames()
		for _, p := range w.proxies {
			p.Reset()
		}
		up := w.linksUp(5 * time.Second)
		w.scrollAll()
		took := w.converge(healBound, "scrolls after a reset of every link")
		w.noFalseLeaves(always)
		w.noDuplicates()
		w.freshWelcomes()
		t.Logf("every link reset: links up again after %v, scrolls everywhere %v later, no leave or join seen", up, took)
	})

	t.Run("RepeatedResets", func(t *testing.T) {
		w := startWorld(t, "a", "b")
		w.readersOn(3)
		w.converge(5*time.Second, "the cluster to show everyone")
		w.markFrames()
		gone := w.readers[0] // leaves a while the links keep breaking
		for i := range 12 {
			w.proxy("a", "b").Reset()
			w.proxy("b", "a").Reset()
			w.scrollAll()
			switch i {
			case 4:
				w.leave(gone)
			case 6:
				w.join("a")
			}
			time.Sleep(150 * time.Millisecond) // the fault's rhythm, not a wait for a result
		}
		took := w.converge(healBound, "views after the last of 12 resets")
		w.noFalseLeaves(always)
		w.noDuplicates()
		w.freshWelcomes()
		t.Logf("12 resets 150 ms apart with a leave and a join on a among them: converged %v after the last; b re-synced %v times, %v link drops",
			took, metric(w.nodes["b"], "readtag_cluster_resyncs_total"), metric(w.nodes["b"], "readtag_cluster_link_drops_total"))
	})

	t.Run("OneWayPartition", func(t *testing.T) {
		w := startWorld(t, "a", "b")
		w.readersOn(2)
		w.converge(5*time.Second, "the cluster to show everyone")
		w.markFrames()
		start := time.Now()
		w.blackHole("b", "a", true)
		w.cutOff("a", "b", true)
		w.cutOff("b", "a", true)
		hidden := w.converge(staleBound, "both sides to stop showing each other's readers under b→a black-holed")
		t.Logf("b→a black-holed: both sides hid each other's readers after %v", hidden)
		w.peerState("a", "b", "down", time.Second)
		w.peerState("b", "a", "one-way", time.Second)
		// Changes on both sides while cut, then the heal.
		w.leave(w.readers[0])
		w.join("b")
		w.scrollAll()
		w.converge(time.Second, "each side's own changes")
		within(t, time.Second, "both nodes to report not ready (isolated)", func() bool {
			sa, oka := status(w.nodes["a"])
			sb, okb := status(w.nodes["b"])
			return oka && okb && !sa.Ready && !sb.Ready
		})
		t.Logf("both isolated nodes answer 503 %v into the fault", time.Since(start))
		w.healAll()
		healed := w.converge(healBound, "views after the heal")
		w.noDuplicates()
		w.freshWelcomes()
		t.Logf("views converged %v after the heal", healed)
	})

	// a↔b cut three ways while both reach c: c relays between them
	// (actors/cluster_relay.go), so nobody is hidden from anybody.
	for _, fault := range []struct {
		name string
		cut  func(w *world)
	}{
		{"SymmetricPartition", func(w *world) {
			w.blackHole("a", "b", true)
			w.blackHole("b", "a", true)
		}},
		{"SymmetricRefused", func(w *world) {
			for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
				if err := w.proxy(pair[0], pair[1]).Refuse(true); err != nil {
					w.t.Fatal(err)
				}
				w.proxy(pair[0], pair[1]).Reset()
			}
		}},
		{"AcceptThenReset", func(w *world) {
			for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
				w.proxy(pair[0], pair[1]).AcceptThenReset(true)
				w.proxy(pair[0], pair[1]).Reset()
			}
		}},
	} {
		t.Run(fault.name, func(t *testing.T) {
			w := startWorld(t, "a", "b", "c")
			w.readersOn(2)
			w.converge(5*time.Second, "the cluster to show everyone")
			w.markFrames()
			fault.cut(w)
			slowest, gap := w.scrollRounds(relayWatch)
			w.relayedUp(relayWatch)
			w.leave(w.readers[0])
			w.join("a")
			w.join("b")
			w.scrollAll()
			took := w.converge(staleBound, "changes on a and b reach every node during the cut")
			w.freshWelcomes()
			w.noFalseLeaves(always)
			carried := metric(w.nodes["c"], "readtag_cluster_relay_carried_total")
			w.healAll()
			healed := w.converge(healBound, "views after the heal")
			w.scrollAll()
			w.converge(healBound, "scrolls after the heal")
			w.noFalseLeaves(always)
			w.noDuplicates()
			w.freshWelcomes()
			t.Logf("a↔b cut, both reaching c, for %v: readers missing from a screen for %v at most (no leave or join); each round of scrolls on every screen within %v, a leave and joins during the cut within %v; c carried %s messages (a sent %s, b sent %s); converged %v after the heal",
				relayWatch, gap, slowest, took, carried, metric(w.nodes["a"], "readtag_cluster_relay_sent_total"), metric(w.nodes["b"], "readtag_cluster_relay_sent_total"), healed)
		})
	}

	t.Run("Latency", func(t *testing.T) {
		w := startWorld(t, "a", "b")
		w.readersOn(2)
		w.converge(5*time.Second, "the cluster to show everyone")
		w.markFrames()
		for _, p := range w.proxies {
			p.Delay(faultproxy.Forward, 400*time.Millisecond)
			p.Delay(faultproxy.Backward, 400*time.Millisecond)
		}
		var slowest time.Duration
		for range 5 {
			w.scrollAll()
			slowest = max(slowest, w.converge(healBound, "scrolls through 400 ms of added latency each way"))
		}
		// Watch a failure timeout pass under the latency: no peer may
		// change state and nobody may leave.
		watch := time.Now()
		for time.Since(watch) < 4*time.Second {
			for _, id := range w.ids {
				st, ok := status(w.nodes[id])
				if !ok || len(st.Missing) != 0 {
					t.Fatalf("under 400 ms of latency %s reports %+v", id, st)
				}
			}
			time.Sleep(100 * time.Millisecond) // the watch's sampling period
		}
		w.healAll()
		w.scrollAll()
		healed := w.converge(healBound, "views after the latency is removed")
		w.noFalseLeaves(always)
		w.noDuplicates()
		w.freshWelcomes()
		t.Logf("400 ms added each way on every link: scrolls converged in at most %v, no peer changed state in 4 s, no leave or join; %v after removal", slowest, healed)
	})

	t.Run("NewAddress", func(t *testing.T) {
		w := startWorld(t, "a", "b", "c")
		w.readersOn(1)
		w.converge(5*time.Second, "the cluster to show everyone")
		b := w.nodes["b"]
		w.readers = slices.DeleteFunc(w.readers, func(r *reader) bool { return r.n == b })
		// A stop on purpose says goodbye: b's readers leave at once, not
		// after the failure timeout.
		stopped := time.Now()
		if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		w.converge(time.Second, "b's readers to leave after SIGTERM")
		left := time.Since(stopped)
		_ = b.cmd.Wait()
		// b comes back on a new cluster port; a and c still have the old one
		// (through their proxies) in their --peers.
		moved := testutil.FreeAddr(t)
		b.args = w.args("b", moved)
		b.start(t)
		found := within(t, 10*time.Second, "a and c to find b at its new address", func() bool {
			for _, id := range []string{"a", "c"} {
				st, ok := status(w.nodes[id])
				if !ok || st.state("b") != "up" {
					return false
				}
			}
			return true
		})
		for _, id := range []string{"a", "c"} {
			st, _ := status(w.nodes[id])
			for _, p := range st.Peers {
				if p.ID == "b" && p.Addr != moved {
					t.Errorf("%s sends to b at %s, want its new address %s", id, p.Addr, moved)
				}
			}
		}
		w.join("b")
		seen := w.converge(healBound, "a reader on the moved node to be seen everywhere")
		w.freshWelcomes()
		t.Logf("b stopped (SIGTERM): its readers left the others' screens after %v; restarted on a new cluster port: a and c found it after %v, its reader was seen everywhere %v later", left, found, seen)
	})
}
