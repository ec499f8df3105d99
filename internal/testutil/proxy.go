package testutil

import (
	"testing"

	"github.com/readtag/readtag/internal/faultproxy"
)

// NewProxy starts a fault proxy in front of target (a loopback host:port)
// on an address from FreeAddr, and closes it at tb's cleanup. The address
// stays reserved for the whole test, so the proxy can refuse connections
// and listen again on its port, and no node of the test can be handed the
// proxy's port.
func NewProxy(tb testing.TB, target string) *faultproxy.Proxy {
	tb.Helper()
	p, err := faultproxy.NewAt(FreeAddr(tb), target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}
