package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/proto"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/web/client"
)

// A peer with a valid certificate turned hostile (issue 20, item 3): what it
// can make a node hold is bounded, and the node's own readers are served.

// attacker is peer c gone bad: c's real certificate, keeping itself a member
// of node a's cluster with heartbeats, and sending whatever the test wants.
type attacker struct {
	fake     *fakePeer // where a sends c's messages
	fakeAddr string
	tls      *tls.Config // c's certificate
	node     *node

	mu   sync.Mutex
	o    *outsider
	seq  uint64 // of c's tracker Deltas
	stop chan struct{}
	done chan struct{}
}

// attack connects as c and keeps c a member (provider and tracker
// heartbeats every 250 ms) until the test ends.
func (p *pairWithFake) attack(t *testing.T) *attacker {
	t.Helper()
	x := &attacker{node: p.a, fake: p.fake, fakeAddr: p.fake.addr, tls: clusterTLSFor(t, p.certs, "c"), stop: make(chan struct{}), done: make(chan struct{})}
	if err := x.reconnect(); err != nil {
		t.Fatal(err)
	}
	go x.keepAlive()
	t.Cleanup(func() {
		close(x.stop)
		<-x.done
		x.mu.Lock()
		x.o.close()
		x.mu.Unlock()
	})
	within(t, 10*time.Second, "a to count c as a member", func() bool {
		_, m, _ := p.a.health()
		return slices.Contains(m, "c")
	})
	return x
}

func (x *attacker) reconnect() error {
	o, err := connect(x.node.cluster, x.tls)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if x.o != nil {
		x.o.close()
	}
	x.o = o
	x.mu.Unlock()
	return nil
}

func (x *attacker) keepAlive() {
	defer close(x.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	answered := 0
	for {
		select {
		case <-x.stop:
			return
		case <-tick.C:
		}
		_ = x.send("provider", &clusterpb.Envelope{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}})
		// The tracker's heartbeat carries c's last seq, and goes out in
		// order with its deltas. A sync request of a's is answered as c,
		// with a snapshot that lists every post it asked for, empty, so that
		// c's deltas are applied (a snapshot ends a's wait for the posts it
		// lists).
		asked := x.fake.count("SyncRequest")
		_ = x.withSeq(func(seq uint64) (bool, []*clusterpb.Envelope) {
			bodies := []*clusterpb.Envelope{{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Seq: seq}}}}
			if asked > answered {
				answered = asked
				s := &clusterpb.Snapshot{Seq: seq}
				for _, post := range x.fake.askedPosts() {
					s.Posts = append(s.Posts, &clusterpb.PostReaders{Post: post})
				}
				bodies = append(bodies, &clusterpb.Envelope{Body: &clusterpb.Envelope_Snapshot{Snapshot: s}})
			}
			return false, bodies
		})
	}
}

// send sends bodies as c (node and incarnation filled in) to a's tracker
// or provider, in one envelope.
func (x *attacker) send(to string, bodies ...*clusterpb.Envelope) error {
	env, err := x.envelope(to, bodies...)
	if err != nil {
		return err
	}
	return x.sendEnvelope(env)
}

// envelope packs bodies as c's, to a's tracker or provider.
func (x *attacker) envelope(to string, bodies ...*clusterpb.Envelope) (*remote.Envelope, error) {
	env := &remote.Envelope{TypeNames: []string{string(proto.MessageName(&clusterpb.Envelope{}))},
		Targets: []*actor.PID{actor.NewPID(x.node.cluster, to+"/a")}, Senders: []*actor.PID{actor.NewPID(x.fakeAddr, to+"/c")}}
	for _, b := range bodies {
		b.Node, b.Incarnation = "c", 9
		data, err := proto.Marshal(b)
		if err != nil {
			return nil, err
		}
		env.Messages = append(env.Messages, &remote.Message{Data: data})
	}
	return env, nil
}

func (x *attacker) sendEnvelope(env *remote.Envelope) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.o.stream.Send(env)
}

// deltas sends c's tracker deltas, numbered in order.
func (x *attacker) deltas(batches ...[]*clusterpb.Delta) error {
	return x.withSeq(func(seq uint64) (bool, []*clusterpb.Envelope) {
		bodies := make([]*clusterpb.Envelope, 0, len(batches))
		for i, d := range batches {
			bodies = append(bodies, &clusterpb.Envelope{Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: seq + uint64(i) + 1, Deltas: d}}})
		}
		return true, bodies
	})
}

// withSeq sends to a's tracker what make returns for c's current seq, with
// no other send in between; if make says so, the seq then counts the
// bodies sent.
func (x *attacker) withSeq(make func(seq uint64) (advance bool, bodies []*clusterpb.Envelope)) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	advance, bodies := make(x.seq)
	env, err := x.envelope("tracker", bodies...)
	if err != nil {
		return err
	}
	if advance {
		x.seq += uint64(len(bodies))
	}
	return x.o.stream.Send(env)
}

// snapshot is c's snapshot with n readers on post, their ids starting with
// prefix.
func snapshot(seq uint64, post, prefix string, n int) *clusterpb.Envelope {
	pr := &clusterpb.PostReaders{Post: post}
	for i := range n {
		pr.Readers = append(pr.Readers, &clusterpb.Reader{Id: fmt.Sprintf("%s%d", prefix, i), Color: "#e5484d", Name: "Red Fox", Position: 0.5})
	}
	return &clusterpb.Envelope{Body: &clusterpb.Envelope_Snapshot{Snapshot: &clusterpb.Snapshot{Seq: seq, Posts: []*clusterpb.PostReaders{pr}}}}
}

// usage samples a process's resident memory every 50 ms until stopped, and
// its CPU time over that span.
type usage struct {
	base, peak int64 // bytes
	cpu        time.Duration
	wall       time.Duration
}

func (u usage) String() string {
	return fmt.Sprintf("RSS %d MiB before, peak %d MiB; CPU %.2f of a core over %v",
		u.base>>20, u.peak>>20, u.cpu.Seconds()/u.wall.Seconds(), u.wall.Round(100*time.Millisecond))
}

func watchProcess(t *testing.T, pid int) (stop func() usage) {
	t.Helper()
	u := usage{base: rss(pid)}
	u.peak = u.base
	cpu0, start := cpuTime(pid), time.Now()
	quit, done := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
			r := rss(pid)
			mu.Lock()
			u.peak = max(u.peak, r)
			mu.Unlock()
		}
	}()
	return func() usage {
		close(quit)
		<-done
		mu.Lock()
		defer mu.Unlock()
		u.cpu, u.wall = cpuTime(pid)-cpu0, time.Since(start)
		return u
	}
}

// rss is VmRSS from /proc/PID/status, in bytes.
func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is utime+stime from /proc/PID/stat (clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// latencies has mover scroll every 100 ms or so until stop is closed (at
// least once), and records how long each scroll took to reach watcher (-1:
// not within 5 s).
func latencies(watcher, mover *client.Conn, stop <-chan struct{}, base float64) []time.Duration {
	var out []time.Duration
	for i := 0; ; i++ {
		pos := float64(int(base*1000)+i) / 1000 // exact after the JSON round trip
		start := time.Now()
		_ = mover.Scroll(pos)
		got := time.Duration(-1)
		for time.Since(start) < 5*time.Second {
			if slices.ContainsFunc(watcher.Ghosts(), func(g client.Reader) bool { return g.ID == mover.You().ID && g.Position == pos }) {
				got = time.Since(start)
				break
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, got)
		select {
		case <-stop:
			return out
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// summary is "median m, max x, k lost" of latencies.
func summary(d []time.Duration) string {
	var ok []time.Duration
	for _, v := range d {
		if v >= 0 {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return fmt.Sprintf("all %d lost", len(d))
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	return fmt.Sprintf("median %v, max %v, %d of %d lost", ok[len(ok)/2].Round(time.Millisecond), ok[len(ok)-1].Round(time.Millisecond), len(d)-len(ok), len(d))
}

func fileSize(name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return st.Size()
}

// counter reads a counter or gauge from the node's /metrics (0 if absent).
func counter(t *testing.T, n *node, name string) float64 {
	t.Helper()
	resp, err := http.Get(n.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// flood runs send every 10 ms for d, or until it fails (the node hung up)
// or a's memory passes 1.5 GiB (the unbounded node, measured before the
// fix, would take the machine down), while an honest reader on a and one
// on b scroll and a's reader watches. It returns what it measured.
type floodResult struct {
	sent          int
	err           error
	use           usage
	local, remote []time.Duration
}

func runFlood(t *testing.T, p *pairWithFake, d time.Duration, send func(i int) (int, error)) floodResult {
	t.Helper()
	const post = "actors-in-go"
	local := dial(t, p.a, post)
	within(t, 5*time.Second, "a's second reader to be seen", func() bool { return slices.Contains(ids(p.onA), local.You().ID) })
	watch := watchProcess(t, p.a.cmd.Process.Pid)
	logBefore := fileSize(p.a.log.Name())
	var res floodResult
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); res.local = latencies(p.onA, local, stop, 0.1) }()
	go func() {
		defer wg.Done()
		time.Sleep(50 * time.Millisecond)
		res.remote = latencies(p.onA, p.onB, stop, 0.5)
	}()
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		n, err := send(i)
		res.sent += n
		if err != nil {
			res.err = err
			break
		}
		if rss(p.a.cmd.Process.Pid) > 3<<29 {
			res.err = fmt.Errorf("a's RSS passed 1.5 GiB: flood stopped")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()
	res.use = watch()
	t.Logf("flood: %d sent in %v (%v); a: %s, %d KiB of log; scroll to a's reader, from a: %s; from b: %s",
		res.sent, took.Round(100*time.Millisecond), res.err, res.use, (fileSize(p.a.log.Name())-logBefore)>>10, summary(res.local), summary(res.remote))
	return res
}

// snapshotFlood is c sending a's tracker ten snapshots every 10 ms (~1,000
// a second) of 500 readers on the honest readers' post, every one
// replacing the readers of the last.
func snapshotFlood(t *testing.T, x *attacker) func(i int) (int, error) {
	t.Helper()
	var bodies []*clusterpb.Envelope
	for j := range 10 {
		bodies = append(bodies, snapshot(0, "actors-in-go", fmt.Sprintf("s%d-", j%2), 500))
	}
	env, err := x.envelope("tracker", bodies...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a snapshot of 500 readers is %d bytes", proto.Size(env)/10)
	return func(int) (int, error) { return len(bodies), x.sendEnvelope(env) }
}

// inventedReaders is c joining 1,000 new readers every 10 ms, over the
// honest readers' post and nine invented ones.
func inventedReaders(x *attacker) func(i int) (int, error) {
	return func(i int) (int, error) {
		batch := make([]*clusterpb.Delta, 1000)
		for j := range batch {
			post := "actors-in-go"
			if j%2 == 1 {
				post = fmt.Sprintf("invented-%d", j%9)
			}
			batch[j] = &clusterpb.Delta{Kind: clusterpb.Delta_KIND_JOIN, Post: post,
				Reader: &clusterpb.Reader{Id: fmt.Sprintf("r%d-%d", i, j), Color: "#e5484d", Name: fmt.Sprintf("R %d", j), Position: 0.5}}
		}
		return len(batch), x.deltas(batch)
	}
}

// TestClusterPeerSnapshotFlood: peer c floods a with snapshots (~1,000 a
// second, 500 readers each, every one replacing the last). a's memory stays
// bounded, its own reader is not closed and still gets moves from a and
// from b, and c, over its bytes budget past the grace, is cut off. The
// budget is 2 MiB a second here, so that a sender slowed by a busy machine
// still exceeds it (the default's figures are in docs/security.md).
func TestClusterPeerSnapshotFlood(t *testing.T) {
	p := startPairWithFakeArgs(t, "--cluster-peer-bytes", "2MiB")
	x := p.attack(t)
	res := runFlood(t, p, 8*time.Second, snapshotFlood(t, x))
	if grew := res.use.peak - res.use.base; grew > 512<<20 {
		t.Errorf("a's RSS grew by %d MiB during the flood", grew>>20)
	}
	if err := p.onA.Err(); err != nil {
		t.Fatalf("a's reader was closed: %v", err)
	}
	serving(t, p.a, p.onA, p.onB, 0.33)
	serving(t, p.a, p.onB, p.onA, 0.44)
	if got := counter(t, p.a, "readtag_cluster_budget_throttled_reads_total"); got == 0 {
		t.Error("no read from c was throttled")
	}
	if got := counter(t, p.a, "readtag_cluster_budget_disconnects_total"); got != 1 {
		t.Errorf("c disconnected %v times, want 1", got)
	}
	t.Logf("room messages dropped (rooms re-synced instead): %v; dead letters: %v",
		counter(t, p.a, "readtag_cluster_room_dropped_messages_total"), counter(t, p.a, "readtag_dead_letters_total"))
}

// TestClusterPeerInventedReaders: peer c announces 1,000 new readers every
// 10 ms, half on the honest readers' post. a keeps at most
// --cluster-max-readers of c's readers and --cluster-max-post-readers on
// one post, counts the rest, and the post keeps delivering scrolls.
func TestClusterPeerInventedReaders(t *testing.T) {
	p := startPairWithFakeArgs(t, "--cluster-max-readers", "3000", "--cluster-max-post-readers", "1000")
	x := p.attack(t)
	res := runFlood(t, p, 3*time.Second, inventedReaders(x))
	if res.err != nil {
		t.Fatalf("the flood stopped: %v", res.err)
	}
	refused := counter(t, p.a, "readtag_cluster_remote_readers_refused_total")
	t.Logf("readers refused: %v; c's messages dropped at the tracker's inbox: %v, over budget: %v", refused,
		counter(t, p.a, "readtag_cluster_inbox_dropped_messages_total"), counter(t, p.a, "readtag_cluster_budget_dropped_messages_total"))
	if refused == 0 {
		t.Error("no reader refused")
	}
	if err := p.onA.Err(); err != nil {
		t.Fatalf("a's reader was closed: %v", err)
	}
	serving(t, p.a, p.onB, p.onA, 0.77)
	// A newcomer on the post sees c's capped 1,000, plus the honest three.
	fresh := dial(t, p.a, "actors-in-go")
	within(t, 10*time.Second, "the post's count to settle at the per-post cap", func() bool {
		total, _ := fresh.Crowd()
		return total == 1000+3+1
	})
	if grew := res.use.peak - res.use.base; grew > 512<<20 {
		t.Errorf("a's RSS grew by %d MiB during the flood", grew>>20)
	}
}

// TestClusterPeerOverBudgetCooldown: peer c sends more messages than its
// budget for longer than the grace: its connection is closed, it is
// refused during the cooldown, and let back in after it; b never notices.
func TestClusterPeerOverBudgetCooldown(t *testing.T) {
	p := startPairWithFakeArgs(t, "--cluster-peer-messages", "200", "--cluster-peer-cooldown", "4s")
	x := p.attack(t)
	hb := func() *clusterpb.Envelope {
		return &clusterpb.Envelope{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}
	}
	within(t, 20*time.Second, "a to cut c off", func() bool {
		for range 5 {
			if x.send("provider", hb(), hb(), hb(), hb(), hb(), hb(), hb(), hb(), hb(), hb()) != nil {
				return true
			}
			time.Sleep(2 * time.Millisecond)
		}
		return counter(t, p.a, "readtag_cluster_budget_disconnects_total") == 1
	})
	if dropped := counter(t, p.a, "readtag_cluster_budget_dropped_messages_total"); dropped == 0 {
		t.Error("no message of c's was dropped before it was cut off")
	}
	// Right after: refused (the handshake completes, then a hangs up).
	if err := x.reconnect(); err == nil {
		if x.send("provider", hb()) == nil {
			_ = x.o.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, rerr := x.o.conn.Read(make([]byte, 1)); isTimeout(rerr) {
				t.Fatal("c was let back in during the cooldown")
			}
		}
	}
	within(t, 5*time.Second, "a to count the refusal", func() bool {
		return counter(t, p.a, "readtag_cluster_budget_refused_connections_total") >= 1
	})
	within(t, 20*time.Second, "c to be let back in after the cooldown", func() bool {
		if x.reconnect() != nil {
			return false
		}
		_ = x.send("provider", hb())
		_, m, _ := p.a.health()
		return slices.Contains(m, "c")
	})
	if got := counter(t, p.a, "readtag_cluster_budget_disconnects_total"); got != 1 {
		t.Errorf("c disconnected %v times, want 1", got)
	}
	_, m, _ := p.a.health()
	if !slices.Contains(m, "b") {
		t.Fatalf("a's members %v: b dropped", m)
	}
	serving(t, p.a, p.onB, p.onA, 0.88)
}
