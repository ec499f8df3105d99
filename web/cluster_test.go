package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
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

// healthz is /healthz as a client of the given url and headers gets it.
func healthz(t *testing.T, url string, header ...string) (body string, peers []struct{ ID, Addr string }) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Ready   bool     `json:"ready"`
		Node    string   `json:"node"`
		Members []string `json:"members"`
		Missing []string `json:"missing"`
		Peers   []struct{ ID, Addr string }
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/healthz: %v: %s", err, b)
	}
	if resp.StatusCode != http.StatusOK || !h.Ready || h.Node != "a" {
		t.Errorf("/healthz with %q: %d %s, want 200, ready, node a", header, resp.StatusCode, b)
	}
	if h.Peers != nil && (len(h.Members) != 2 || h.Missing == nil) {
		t.Errorf("/healthz with %q: %s, want both members and missing beside the peers", header, b)
	}
	return string(b), h.Peers
}

// The public /healthz shows the peers (and their cluster addresses) only to
// a client on this machine; a request that a proxy on this machine forwards
// from elsewhere, trusted or not, gets the status and how many members are
// up of how many, not who they are. The
// metrics listener always shows everything (issue 20, item 7: the public
// port listed every peer's cluster host:port to anyone).
func TestClusterHealthShowsPeersOnlyToThisMachine(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted proxy %v", trusted), func(t *testing.T) {
			nodes := startCluster(t, 2, func(w *web.Config, _ *actors.Config) {
				if trusted {
					w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
				}
			})
			a := nodes[0]
			bAddr := a.Presence.ClusterStatus().Peers[0].Addr
			for _, header := range [][]string{
				{"X-Forwarded-For", "203.0.113.7"},
				{"X-Forwarded-For", "203.0.113.7, 127.0.0.1"},
				{"X-Forwarded-For", "127.0.0.1"},
				{"X-Forwarded-For", "not an address"},
				{"Forwarded", "for=203.0.113.7"},
				{"X-Real-IP", "203.0.113.7"},
			} {
				body, peers := healthz(t, a.URL, header...)
				if peers != nil || strings.Contains(body, bAddr) || strings.Contains(body, `"b"`) {
					t.Errorf("public /healthz with %q shows the peers: %s", header, body)
				}
				if want := `{"node":"a","of":2,"ready":true,"up":2}`; body != want {
					t.Errorf("public /healthz with %q = %s, want %s", header, body, want)
				}
			}
			if _, peers := healthz(t, a.URL); len(peers) != 1 || peers[0].ID != "b" || peers[0].Addr != bAddr {
				t.Errorf("public /healthz from loopback: peers %+v, want b at %s", peers, bAddr)
			}
		})
	}
	t.Run("metrics listener", func(t *testing.T) {
		nodes := startCluster(t, 2, func(w *web.Config, _ *actors.Config) {
			w.MetricsApart = true
			w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		a := nodes[0]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- a.Web.ServeMetrics(ln) }()
		bAddr := a.Presence.ClusterStatus().Peers[0].Addr
		for _, header := range [][]string{nil, {"X-Forwarded-For", "203.0.113.7"}} {
			if _, peers := healthz(t, "http://"+ln.Addr().String(), header...); len(peers) != 1 || peers[0].ID != "b" || peers[0].Addr != bAddr {
				t.Errorf("private /healthz with %q: peers %+v, want b at %s", header, peers, bAddr)
			}
		}
		a.Stop()
		if err := <-served; err != nil {
			t.Errorf("serve metrics: %v", err)
		}
	})
}
