//go:build faults

// Faults of a node itself rather than of the links (issue 23, items 5 and
// 6): a second process under a node id already in use, and a node stopped
// (SIGSTOP) longer than the failure timeout and resumed.
package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

// leavesSince counts the leave frames each of w's readers on node id was
// sent since its mark, of readers on other nodes.
func (w *world) leavesSince(id string) (n int) {
	for _, r := range w.readers {
		if r.n.id != id || !r.old {
			continue
		}
		for _, f := range r.c.Frames()[r.mark:] {
			if f.Type == "leave" {
				n++
			}
		}
	}
	return n
}

// TestFaultsDuplicateNodeID: a, b and c run with readers; a second process
// is started as c (c's certificate, its own ports). It must exit non-zero
// saying the id is in use; a and b each log the refusal at ERROR, keep the
// first c (same address, up throughout), and no reader anywhere sees a
// reader leave or join.
func TestFaultsDuplicateNodeID(t *testing.T) {
	w := startWorld(t, "a", "b", "c")
	w.readersOn(2)
	w.converge(5*time.Second, "the cluster to show everyone")
	w.markFrames()
	offsets := map[string]int64{}
	for _, id := range []string{"a", "b"} {
		offsets[id] = logSize(t, w.nodes[id])
	}
	ports := testutil.FreeAddrs(t, 2)
	dup := &node{id: "c", http: ports[0], cluster: ports[1]}
	dup.args = w.args("c", dup.cluster)
	dup.args[1] = dup.http // --addr
	f, err := os.Create(filepath.Join(t.TempDir(), "c2.log"))
	if err != nil {
		t.Fatal(err)
	}
	dup.log = f
	started := time.Now()
	dup.start(t)
	exited := make(chan error, 1)
	go func() { exited <- dup.cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(20 * time.Second):
		b, _ := os.ReadFile(f.Name())
		t.Fatalf("the second c still runs after 20 s; its log:\n%s", tail(b, 4096))
	}
	took := time.Since(started)
	out, _ := os.ReadFile(f.Name())
	var ee *exec.ExitError
	if exitErr == nil || !errors.As(exitErr, &ee) || ee.ExitCode() != 1 {
		t.Errorf("the second c exited with %v, want exit status 1; its log:\n%s", exitErr, tail(out, 4096))
	}
	const want = `node id "c" is already in use by another live process`
	if !strings.Contains(string(out), want) {
		t.Errorf("the second c's output does not say %q:\n%s", want, tail(out, 4096))
	}
	// Watch a failure timeout after the exit: nothing may flap then either.
	watch := time.Now()
	for time.Since(watch) < 4*time.Second {
		for _, id := range []string{"a", "b"} {
			if st, ok := status(w.nodes[id]); ok && st.state("c") != "up" {
				t.Fatalf("%s reports c %q after the second c", id, st.state("c"))
			}
		}
		time.Sleep(100 * time.Millisecond) // the watch's sampling period
	}
	w.scrollAll()
	w.converge(healBound, "scrolls after the second c")
	w.noFalseLeaves(always)
	w.noDuplicates()
	for _, id := range []string{"a", "b"} {
		n := w.nodes[id]
		errs, warns := levelsSince(t, n, offsets[id])
		refusals := linesOf(t, n, "cluster node id in use by two live processes: the newcomer is refused (give each node its own --node-id and certificate)", "peer", "c")
		if errs < 1 || len(refusals) != 1 || errs+warns > 3 {
			t.Errorf("%s logged %d ERROR and %d WARN lines, %d refusals of the second c; want the one refusal", id, errs, warns, len(refusals))
		}
		if got := metric(n, "readtag_cluster_duplicates_refused_total"); got != "1" {
			t.Errorf("%s counts %q duplicates refused, want 1", id, got)
		}
		if got := metric(n, "readtag_cluster_address_changes_total"); got != "0" {
			t.Errorf("%s changed its address for a peer %q times, want 0", id, got)
		}
		st, _ := status(n)
		for _, p := range st.Peers {
			if p.ID == "c" && p.Addr != w.proxy(id, "c").Addr() {
				t.Errorf("%s sends to c at %s, want the first c's %s", id, p.Addr, w.proxy(id, "c").Addr())
			}
		}
	}
	t.Logf("a second process as c exited (status 1) %v after its start; a and b kept the first c, no reader saw a leave or join", took.Round(time.Millisecond))
}

// TestFaultsStallAndResume: c is stopped (SIGSTOP) for 10 s, as by a long
// GC pause or a frozen VM, and resumed. a and b hide c's readers after the
// failure timeout and show them again after the resume (that is right);
// c's own readers must not see any of a's or b's readers leave (c was the
// one stalled, not them), and nobody is shown twice.
func TestFaultsStallAndResume(t *testing.T) {
	w := startWorld(t, "a", "b", "c")
	w.readersOn(2)
	w.converge(5*time.Second, "the cluster to show everyone")
	w.markFrames()
	c := w.nodes["c"]
	stopped := time.Now()
	if err := syscall.Kill(c.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGCONT)
		}
	})
	w.cutOff("c", "a", true)
	w.cutOff("c", "b", true)
	hidden := w.converge(staleBound, "a and b to stop showing the stopped c's readers")
	w.peerState("a", "c", "down", time.Second)
	w.peerState("b", "c", "down", time.Second)
	time.Sleep(10*time.Second - time.Since(stopped)) // the fault's length, not a wait for a result
	if err := syscall.Kill(c.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	cont := time.Now()
	clear(w.cut)
	back := w.converge(5*time.Second, "views after c resumed")
	w.peerState("a", "c", "up", time.Second)
	w.peerState("b", "c", "up", time.Second)
	// Watch the grace and a failure timeout after it: c's readers must not
	// lose anyone meanwhile either.
	for time.Since(cont) < 8*time.Second {
		w.scrollAll()
		w.converge(healBound, "scrolls after the resume")
		time.Sleep(250 * time.Millisecond) // the scrolls' rhythm
	}
	onC := w.leavesSince("c")
	w.noFalseLeaves(func(from, to string) bool { return from != "c" || to == "c" })
	w.noDuplicates()
	w.freshWelcomes()
	t.Logf("c stopped for 10 s: a and b hid its readers after %v; after SIGCONT views converged in %v; c's readers saw %d leaves (a's and b's saw %d, of c's readers)",
		hidden, back, onC, w.leavesSince("a")+w.leavesSince("b"))
}
