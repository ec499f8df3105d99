package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/web/client"
)

// TestClusterEmbeddedPage: readers of one page of another site, on two
// nodes of a cluster, see each other (the tracker takes the page's room key
// from its peer), and each node's /ws/counts counts them all.
func TestClusterEmbeddedPage(t *testing.T) {
	const origin = "https://blog.example"
	nodes := startNodesWith(t, []string{"--sites", origin}, "a", "b")
	for _, n := range nodes {
		within(t, 30*time.Second, "node "+n.id+" ready", func() bool { ready, _, ok := n.health(); return ready && ok })
	}
	embed := func(n *node, page, id string) *client.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, client.EmbedURL(n.url(), page, id), client.Options{Origin: origin, KeepFrames: true})
		if err != nil {
			t.Fatalf("embed on node %s: %v", n.id, err)
		}
		t.Cleanup(func() { _ = c.Kill() })
		if err := c.Wait(ctx, c.Welcomed); err != nil {
			t.Fatalf("welcome from node %s: %v", n.id, err)
		}
		return c
	}
	r1 := embed(nodes[0], "https://blog.example/posts/hello", "")
	r2 := embed(nodes[1], "https://blog.example/posts/hello/?ref=x", "")
	r3 := embed(nodes[1], "https://blog.example/posts/hello", "")
	all := []*client.Conn{r1, r2, r3}
	for _, c := range all {
		within(t, 10*time.Second, "readers on both nodes to see each other", func() bool { return slices.Equal(ids(c), others(all, c)) })
	}
	x1 := embed(nodes[0], "https://blog.example/a", "chapter-1")
	x2 := embed(nodes[1], "https://blog.example/b", "chapter-1")
	within(t, 10*time.Second, "an explicit id's readers on both nodes", func() bool { return slices.Equal(ids(x1), []string{x2.You().ID}) })

	counts := watchCounts(t, nodes[0], origin)
	within(t, 10*time.Second, "node a's counts of the site", func() bool {
		return maps.Equal(counts.get(), map[string]int{"/posts/hello": 3, "/#chapter-1": 2})
	})
	_ = r3.Close()
	within(t, 10*time.Second, "a reader on node b to leave node a's screens", func() bool {
		return slices.Equal(ids(r1), []string{r2.You().ID})
	})
	within(t, 10*time.Second, "node a's counts after a leave", func() bool {
		return maps.Equal(counts.get(), map[string]int{"/posts/hello": 2, "/#chapter-1": 2})
	})
}

type countsWatch struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *countsWatch) get() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts
}

func watchCounts(t *testing.T, n *node, origin string) *countsWatch {
	t.Helper()
	return watchCountsAt(t, n, "/ws/counts", origin)
}

// watchCountsAt follows the counts frames of path (/ws/counts or /ws/index).
func watchCountsAt(t *testing.T, n *node, path, origin string) *countsWatch {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.url(), "http")+path, http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial %s on node %s: %v", path, n.id, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	w := &countsWatch{}
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f struct {
				Counts map[string]int `json:"counts"`
			}
			if json.Unmarshal(data, &f) == nil {
				w.mu.Lock()
				w.counts = f.Counts
				w.mu.Unlock()
			}
		}
	}()
	return w
}
