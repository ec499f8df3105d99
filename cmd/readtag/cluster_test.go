package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds readtag once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "readtag-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "readtag")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// node is one readtag process of a test cluster.
type node struct {
	id, http, cluster string
	args              []string
	cmd               *exec.Cmd
	log               *os.File
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.cmd = exec.Command(binary(t), n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Signal(syscall.SIGCONT)
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		}
	})
}

func (n *node) url() string { return "http://" + n.http }

// health returns the node's /healthz, or ok false while it does not answer.
func (n *node) health() (ready bool, members []string, ok bool) {
	// Generous: a loaded 2-core machine can take over a second to answer.
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(n.url() + "/healthz")
	if err != nil {
		return false, nil, false
	}
	defer resp.Body.Close()
	var h struct {
		Ready   bool     `json:"ready"`
		Members []string `json:"members"`
	}
	if json.NewDecoder(resp.Body).Decode(&h) != nil {
		return false, nil, false
	}
	return h.Ready, h.Members, true
}

// makeCerts writes a cluster CA and a certificate per node id into a
// temporary folder, with `readtag certs`.
func makeCerts(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := runCerts([]string{"--dir", dir, "--nodes", strings.Join(ids, ",")}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tlsArgs are the flags that give node id its certificate from dir.
func tlsArgs(dir, id string) []string {
	return []string{"--cluster-ca", filepath.Join(dir, "ca.crt"),
		"--cluster-cert", filepath.Join(dir, id+".crt"), "--cluster-key", filepath.Join(dir, id+".key")}
}

func startNodes(t *testing.T, ids ...string) []*node {
	t.Helper()
	return startNodesWith(t, nil, ids...)
}

// startNodesWith starts nodes that each take the flags extra too.
func startNodesWith(t *testing.T, extra []string, ids ...string) []*node {
	t.Helper()
	certs := makeCerts(t, ids...)
	ports := testutil.FreeAddrs(t, 2*len(ids))
	var nodes []*node
	for i, id := range ids {
		nodes = append(nodes, &node{id: id, http: ports[2*i], cluster: ports[2*i+1]})
	}
	for _, n := range nodes {
		var peers []string
		for _, p := range nodes {
			if p != n {
				peers = append(peers, p.id+"@"+p.cluster)
			}
		}
		f, err := os.Create(filepath.Join(t.TempDir(), n.id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n.log = f
		n.args = []string{"--addr", n.http, "--node-id", n.id, "--cluster-addr", n.cluster,
			"--peers", strings.Join(peers, ","), "--log-format", "json"}
		n.args = append(n.args, tlsArgs(certs, n.id)...)
		n.args = append(n.args, extra...)
		n.start(t)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				b, _ := os.ReadFile(n.log.Name())
				t.Logf("--- log of node %s (last 4 KB):\n%s", n.id, tail(b, 4096))
			}
		}
	})
	return nodes
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// within polls cond every 10 ms for at most d and returns how long it took.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func dial(t *testing.T, n *node, slug string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.URL(n.url(), slug), client.Options{KeepFrames: true})
	if err != nil {
		t.Fatalf("dial node %s: %v", n.id, err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	if err := c.Wait(ctx, c.Welcomed); err != nil {
		t.Fatalf("welcome from node %s: %v", n.id, err)
	}
	return c
}

// ids is what c sees: the other readers' ids, sorted.
func ids(c *client.Conn) []string {
	var out []string
	for _, r := range c.Ghosts() {
		out = append(out, r.ID)
	}
	return out
}

func others(all []*client.Conn, except *client.Conn) []string {
	var out []string
	for _, c := range all {
		if c != except {
			out = append(out, c.You().ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestClusterProcesses runs three readtag processes and kills, freezes and
// restarts them under real WebSocket clients.
func TestClusterProcesses(t *testing.T) {
	nodes := startNodes(t, "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	formed := within(t, 15*time.Second, "the cluster to form", func() bool {
		for _, n := range nodes {
			ready, members, _ := n.health()
			if !ready || len(members) != 3 {
				return false
			}
		}
		return true
	})
	t.Logf("three nodes ready with 3 members each after %v", formed)

	const post = "actors-in-go"
	var all []*client.Conn
	byNode := map[*node][]*client.Conn{}
	for _, n := range nodes {
		for range 2 {
			conn := dial(t, n, post)
			all = append(all, conn)
			byNode[n] = append(byNode[n], conn)
		}
	}
	want := map[string]float64{}
	for i, conn := range all {
		want[conn.You().ID] = float64(i+1) / 10
		_ = conn.Scroll(want[conn.You().ID])
	}
	took := within(t, 5*time.Second, "every reader to see the five others at their positions", func() bool {
		for _, conn := range all {
			if !slices.Equal(ids(conn), others(all, conn)) {
				return false
			}
			for _, g := range conn.Ghosts() {
				if math.Abs(g.Position-want[g.ID]) > 1e-9 {
					return false
				}
			}
		}
		return true
	})
	t.Logf("six readers on three nodes saw each other's positions %v after scrolling", took)

	live := append(append([]*client.Conn{}, byNode[a]...), byNode[b]...)
	t.Run("SIGKILL", func(t *testing.T) {
		before := map[*client.Conn]int{}
		for _, conn := range live {
			before[conn] = len(conn.Frames())
		}
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = c.cmd.Wait()
		gone := within(t, 5*time.Second, "c's readers to leave a's and b's screens", func() bool {
			for _, conn := range live {
				if !slices.Equal(ids(conn), others(live, conn)) {
					return false
				}
			}
			return true
		})
		t.Logf("c's ghosts gone from a's and b's readers %v after SIGKILL", gone)
		// Traffic between the live nodes keeps flowing while c is dead.
		a0 := byNode[a][0]
		var worst time.Duration
		for i := range 20 {
			p := float64(50+i) / 100
			_ = a0.Scroll(p)
			d := within(t, 3*time.Second, fmt.Sprintf("a's scroll %d to reach b", i), func() bool {
				for _, g := range byNode[b][0].Ghosts() {
					if g.ID == a0.You().ID && math.Abs(g.Position-p) < 1e-9 {
						return true
					}
				}
				return false
			})
			worst = max(worst, d)
		}
		t.Logf("20 scrolls from a reached b after c died; slowest %v", worst)
		// Nobody else's ghost flickered: the only leaves were c's readers.
		cIDs := others(byNode[c], nil)
		for _, conn := range live {
			for _, f := range conn.Frames()[before[conn]:] {
				if f.Type == "leave" && !slices.Contains(cIDs, f.ID) {
					t.Errorf("%s saw %s leave", conn.You().ID, f.ID)
				}
				if f.Type == "join" {
					t.Errorf("%s saw a join: %s", conn.You().ID, f.Raw)
				}
			}
		}
	})

	t.Run("SIGSTOP", func(t *testing.T) {
		if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		aConns := byNode[a]
		detected := within(t, 10*time.Second, "b's readers to leave a's screens", func() bool {
			for _, conn := range aConns {
				if !slices.Equal(ids(conn), others(aConns, conn)) {
					return false
				}
			}
			return true
		})
		t.Logf("frozen node b detected and its ghosts removed after %v", detected)
		if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		t.Logf("b was frozen for %v", time.Since(stopped))
		converged := within(t, 10*time.Second, "a and b to see each other again", func() bool {
			for _, conn := range live {
				if !slices.Equal(ids(conn), others(live, conn)) {
					return false
				}
			}
			return true
		})
		t.Logf("views converged %v after SIGCONT", converged)
		// A newcomer's welcome lists everyone exactly once.
		fresh := dial(t, a, post)
		w, _, _ := fresh.WaitFrame(context.Background(), "welcome", 0)
		var listed []string
		for _, r := range w.Readers {
			listed = append(listed, r.ID)
		}
		slices.Sort(listed)
		if !slices.Equal(listed, others(live, nil)) {
			t.Errorf("welcome after the freeze lists %v, want %v", listed, others(live, nil))
		}
		_ = fresh.Close()
	})

	t.Run("restart", func(t *testing.T) {
		c.start(t)
		rejoined := within(t, 15*time.Second, "c to rejoin", func() bool {
			_, members, _ := a.health()
			ready, cm, ok := c.health()
			return ok && ready && len(members) == 3 && len(cm) == 3
		})
		t.Logf("restarted c rejoined after %v", rejoined)
		c1 := dial(t, c, post)
		everyone := append(append([]*client.Conn{}, live...), c1)
		seen := within(t, 10*time.Second, "c's new reader to appear everywhere", func() bool {
			for _, conn := range everyone {
				if !slices.Equal(ids(conn), others(everyone, conn)) {
					return false
				}
			}
			return true
		})
		t.Logf("a reader on the restarted node was seen everywhere after %v", seen)
	})

	// A graceful stop is not a failure: nothing at warn level or above on
	// the node that stops (its peers, which lose it, may say so).
	t.Run("SIGTERM", func(t *testing.T) {
		before, err := os.Stat(a.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- a.cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("a after SIGTERM: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a still running 10 s after SIGTERM")
		}
		b, err := os.ReadFile(a.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		stopped := false
		for _, line := range strings.Split(string(b[before.Size():]), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			// c was killed at the end of the last subtest: news, not noise.
			if l["msg"] == "remote unreachable" && l["addr"] == c.cluster {
				continue
			}
			if lv, _ := l["level"].(string); lv == "WARN" || lv == "ERROR" {
				t.Errorf("a logged on a graceful stop: %s", line)
			}
			stopped = stopped || l["msg"] == "stopped"
		}
		if !stopped {
			t.Errorf("no \"stopped\" line after SIGTERM:\n%s", tail(b[before.Size():], 4096))
		}
	})
}
