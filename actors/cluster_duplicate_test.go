package actors

import (
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/ratelog"
	"github.com/readtag/readtag/internal/testutil"
)

// ruleProvider is a provider of our own, for its rules, whose links never
// start; its peer b was last heard at heard under incarnation 5.
func ruleProvider(t *testing.T, heard time.Time) (*provider, *peerLiveness, *testutil.SyncBuffer) {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 2)
	cfg := ClusterConfig{Addr: addrs[0], Peers: []Peer{{ID: "b", Addr: addrs[1]}}, Heartbeat: 500 * time.Millisecond, PeerTimeout: 3 * time.Second, ChangeEvery: 3 * time.Second}
	p, logs := newPresence(t, Config{NodeID: "a", Cluster: &cfg})
	l := newLinks(p.sys.engine, cfg, p.sys.log, &clusterStats{})
	prov := &provider{sys: p.sys, cfg: cfg, log: ratelog.New(p.sys.log, 0), self: &cluster.Member{ID: "a"}, links: l, state: &clusterState{failed: make(chan error, 1)}}
	b := &peerLiveness{Peer: cfg.Peers[0], incarnation: 5, heard: heard, state: stateUp}
	return prov, b, logs
}

// A rival incarnation of a peer whose established one keeps heartbeating is
// refused, once, and stays refused; one whose established incarnation fell
// silent is taken after rivalWait (a restart).
func TestClusterRivalIncarnations(t *testing.T) {
	t0 := time.Now()
	t.Run("both alive", func(t *testing.T) {
		prov, b, logs := ruleProvider(t, t0)
		if prov.rivalMay(nil, b, 9, "", t0) {
			t.Fatal("a rival was taken at once")
		}
		b.heard = t0.Add(600 * time.Millisecond) // the established one heartbeats on
		prov.establishedHeard(nil, b, b.heard)
		if !b.rival.refused || prov.state.stats.duplicatesRefused.Load() != 1 {
			t.Fatalf("the rival is not refused after the established one was heard %v after it: %+v", b.heard.Sub(t0), b.rival)
		}
		for i := range 10 {
			if prov.rivalMay(nil, b, 9, "", t0.Add(time.Duration(i+2)*time.Second)) {
				t.Fatal("a refused rival was taken")
			}
		}
		if n := strings.Count(logs.String(), "in use by two live processes"); n != 1 || prov.state.stats.duplicatesRefused.Load() != 1 {
			t.Errorf("%d refusal lines, %d refusals counted; want 1 and 1", n, prov.state.stats.duplicatesRefused.Load())
		}
	})
	t.Run("a restart", func(t *testing.T) {
		prov, b, _ := ruleProvider(t, t0)
		if prov.rivalMay(nil, b, 9, "", t0.Add(100*time.Millisecond)) {
			t.Fatal("a rival was taken at once")
		}
		if prov.rivalMay(nil, b, 9, "", t0.Add(time.Second)) {
			t.Fatal("a rival was taken before rivalWait")
		}
		if !prov.rivalMay(nil, b, 9, "", t0.Add(100*time.Millisecond+prov.rivalWait())) {
			t.Fatal("a rival whose established incarnation fell silent is not taken after rivalWait")
		}
		if b.rival.refused {
			t.Error("a restart was refused")
		}
	})
}

// A refusal stops a node only while the refusing peer does not count it
// up: a peer (or a stolen key) cannot stop the process the cluster uses.
func TestClusterRefusal(t *testing.T) {
	prov, b, logs := ruleProvider(t, time.Now())
	refusal := &clusterpb.Heartbeat{Refuses: prov.sys.incarnation, InUseAt: "127.0.0.1:9"}
	prov.refusedBy(b, &clusterpb.Heartbeat{Refuses: prov.sys.incarnation + 2})
	prov.refusedBy(b, refusal)
	select {
	case err := <-prov.state.failed:
		t.Fatalf("a node its peer counts up stopped: %v", err)
	default:
	}
	if !strings.Contains(logs.String(), "counts us up: ignored") {
		t.Errorf("the ignored refusal is not logged:\n%s", logs)
	}
	b.state = stateDown
	prov.refusedBy(b, refusal)
	select {
	case err := <-prov.state.failed:
		if want := `node id "a" is already in use by another live process (peer b hears it at 127.0.0.1:9)`; !strings.Contains(err.Error(), want) {
			t.Errorf("the refused node fails with %q, want it to say %q", err, want)
		}
	default:
		t.Fatal("a node refused by a peer that does not count it up did not stop")
	}
}

// The stall watch notices a tick (or a message) much later than due, once,
// and gives the peers a grace from then; ordinary lateness is not a stall.
func TestClusterStallWatch(t *testing.T) {
	cfg := ClusterConfig{Heartbeat: 500 * time.Millisecond, PeerTimeout: 3 * time.Second}
	s := newStallWatch(cfg)
	t0 := s.last
	if _, ok := s.tick(t0.Add(1400 * time.Millisecond)); ok {
		t.Error("a tick 1.4 s late (under half the failure timeout) counts as a stall")
	}
	resume := t0.Add(1400*time.Millisecond + 10*time.Second)
	gap, ok := s.check(resume)
	if !ok || gap != 10*time.Second {
		t.Fatalf("a message 10 s after the last tick: stall %v %v, want 10s true", gap, ok)
	}
	if _, ok := s.tick(resume.Add(100 * time.Millisecond)); ok {
		t.Error("one stall was noticed twice")
	}
	if !s.lenient(resume.Add(cfg.Heartbeat+cfg.PeerTimeout-time.Millisecond)) || s.lenient(resume.Add(cfg.Heartbeat+cfg.PeerTimeout)) {
		t.Error("the grace is not a heartbeat plus the failure timeout from the resume")
	}
}
