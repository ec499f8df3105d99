package web_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
)

// startCluster runs n nodes in this process, each a real engine with
// Hollywood's remote on loopback and its own HTTP server.
func startCluster(t *testing.T, n int, extra ...func(*web.Config, *actors.Config)) []*testServer {
	t.Helper()
	addrs := testutil.FreeAddrs(t, n)
	ids := []string{"a", "b", "c", "d", "e"}[:n]
	var nodes []*testServer
	for i := range n {
		var peers []actors.Peer
		for j := range n {
			if j != i {
				peers = append(peers, actors.Peer{ID: ids[j], Addr: addrs[j]})
			}
		}
		nodes = append(nodes, startServer(t, func(w *web.Config, a *actors.Config) {
			a.NodeID = ids[i]
			a.Cluster = &actors.ClusterConfig{Addr: addrs[i], Peers: peers, Heartbeat: 100 * time.Millisecond, PeerTimeout: time.Second}
			for _, f := range extra {
				f(w, a)
			}
		}))

	}
	for _, node := range nodes {
		eventually(t, "the cluster to form", func() bool {
			ready, _, members := node.Presence.Health()
			return ready && len(members) == n
		})
	}
	return nodes
}

func TestClusterReadersSeeEachOther(t *testing.T) {
	nodes := startCluster(t, 3)
	a := nodes[0].dial(t, "alpha")
	b := nodes[1].dial(t, "alpha")
	c := nodes[2].dial(t, "alpha")
	other := nodes[1].dial(t, "beta")

	waitGhosts(t, a, id(b)+"@0", id(c)+"@0")
	waitGhosts(t, b, id(a)+"@0", id(c)+"@0")
	waitGhosts(t, c, id(a)+"@0", id(b)+"@0")

	_ = a.Scroll(0.25)
	_ = b.Scroll(0.5)
	_ = c.Scroll(0.75)
	waitGhosts(t, a, id(b)+"@0.5", id(c)+"@0.75")
	waitGhosts(t, b, id(a)+"@0.25", id(c)+"@0.75")
	waitGhosts(t, c, id(a)+"@0.25", id(b)+"@0.5")
	waitGhosts(t, other)

	// A reader joining later gets everyone, from every node, in its welcome.
	d := nodes[2].dial(t, "alpha")
	w, _, _ := d.WaitFrame(t.Context(), "welcome", 0)
	if len(w.Readers) != 3 {
		t.Errorf("late welcome on node c lists %d readers, want 3: %s", len(w.Readers), w.Raw)
	}

	// Leaving on one node reaches the others.
	_ = b.Close()
	waitGhosts(t, a, id(c)+"@0.75", id(d)+"@0")
	waitGhosts(t, c, id(a)+"@0.25", id(d)+"@0")

	// A node that stops takes only its own readers with it.
	nodes[2].Stop()
	waitGhosts(t, a)
	eventually(t, "a's node to see the member leave", func() bool {
		_, _, members := nodes[0].Presence.Health()
		return len(members) == 2
	})
}

// /healthz shows each peer's state and what is missing; /metrics the peer
// states and the cluster counters. A node left alone is not ready.
func TestClusterHealthAndMetrics(t *testing.T) {
	nodes := startCluster(t, 2)
	a := nodes[0]
	status, body := a.get(t, "/healthz")
	var h struct {
		Ready   bool     `json:"ready"`
		Missing []string `json:"missing"`
		Peers   []struct {
			ID       string `json:"id"`
			State    string `json:"state"`
			Link     bool   `json:"link"`
			HeardAgo *int64 `json:"heard_ago_ms"`
		} `json:"peers"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz: %v: %s", err, body)
	}
	if status != 200 || !h.Ready || len(h.Missing) != 0 || len(h.Peers) != 1 || h.Peers[0].ID != "b" || h.Peers[0].State != "up" || h.Peers[0].HeardAgo == nil {
		t.Errorf("/healthz of a formed cluster: %d %s", status, body)
	}
	eventually(t, "cluster metrics", func() bool {
		_, body = a.get(t, "/metrics")
		return strings.Contains(body, `readtag_cluster_peer_state{peer="b",state="up"} 1`) &&
			strings.Contains(body, `readtag_cluster_peer_state{peer="b",state="down"} 0`) &&
			regexp.MustCompile(`(?m)^readtag_cluster_snapshots_received_total [1-9]`).MatchString(body) &&
			strings.Contains(body, "readtag_cluster_link_stalls_total ")
	})

	nodes[1].Stop()
	eventually(t, "a, alone, to answer 503 with b down and missing", func() bool {
		status, body = a.get(t, "/healthz")
		return status == 503 && strings.Contains(body, `"missing":["b"]`) && strings.Contains(body, `"state":"down"`)
	})
}
