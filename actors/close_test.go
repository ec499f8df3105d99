package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

// TestCleanCloseLogsNoWarnings stops the nodes of a two-node cluster, one
// after the other, with readers on both, the way SIGTERM does: a clean stop is not a failure, so
// nothing at warn level or above may be logged (v1.0.5 reports the stop
// events sent to subscribers that stopped first as dead letters).
func TestCleanCloseLogsNoWarnings(t *testing.T) {
	addrs := testutil.FreeAddrs(t, 2)
	ids := []string{"a", "b"}
	var nodes []*Presence
	var logs []*testutil.SyncBuffer
	for i := range 2 {
		p, l := newPresence(t, Config{NodeID: ids[i], Cluster: &ClusterConfig{
			Addr:        addrs[i],
			Peers:       []Peer{{ID: ids[1-i], Addr: addrs[1-i]}},
			Heartbeat:   100 * time.Millisecond,
			PeerTimeout: time.Second,
		}})
		nodes, logs = append(nodes, p), append(logs, l)
	}
	for _, p := range nodes {
		eventually(t, "the cluster to form", func() bool {
			ready, _, members := p.Health()
			return ready && len(members) == 2
		})
	}
	a1, _ := mustJoin(t, nodes[0], "post", "a1")
	mustJoin(t, nodes[0], "other", "a2")
	_, sb := mustJoin(t, nodes[1], "post", "b1")
	sb.Scroll(0.5)
	wantView(t, a1, "b1@0.5")

	for i, p := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := p.Close(ctx); err != nil {
			t.Errorf("close %s: %v", ids[i], err)
		}
		cancel()
	}
	for i, l := range logs {
		for _, line := range strings.Split(l.String(), "\n") {
			// b outlived a: that its peer went away is news worth a warning.
			if i == 1 && strings.Contains(line, `msg="remote unreachable" addr=`+addrs[0]) {
				continue
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				t.Errorf("node %s logged on a clean close: %s", ids[i], line)
			}
		}
	}
}
