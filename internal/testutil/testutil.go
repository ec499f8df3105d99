// Package testutil holds the helpers readtag's tests share: a log sink safe
// for concurrent writes, polling with a deadline, loopback ports reserved
// for a test, and a fault proxy on such a port. It imports no readtag
// package but internal/faultproxy, so any package's tests can use it.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// WaitLimit bounds every wait for something the system promises will
// happen: long enough that only a hang, never a loaded machine, hits it.
const WaitLimit = 20 * time.Second

// SyncBuffer is an io.Writer safe for concurrent writes, such as a log sink
// shared by a server's goroutines. The zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Eventually polls cond every 5 ms until it holds, and fails tb, naming
// what it waited for, if it does not within WaitLimit.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
