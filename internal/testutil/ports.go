package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// An address found by listening on port 0 and closing again is a race: the
// kernel hands the port to the next socket that binds port 0 or dials out
// (a fault proxy, another test's server, another package's test binary)
// before the test's server has bound it. FreeAddrs closes both ways in:
//   - its ports lie below the kernel's ephemeral range, which binding port 0
//     and dialling out never take from;
//   - each is held by a UDP socket bound to the same port number until the
//     test's cleanup, which no other FreeAddrs caller, in this process or
//     another, can bind. TCP and UDP ports are apart, so the hold does not
//     stop the test's own server from listening on the TCP port.

// firstTestPort is the lowest port handed out: above system services and
// the ports browsers refuse to connect to (the highest is 10080).
const firstTestPort = 16384

var (
	ephemeralOnce sync.Once
	ephemeral     int
)

// ephemeralStart is the first port of the kernel's ephemeral range: Linux
// says in /proc; elsewhere Linux's default, below the 49152 of macOS and
// Windows.
func ephemeralStart() int {
	ephemeralOnce.Do(func() {
		ephemeral = 32768
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil {
			return
		}
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				ephemeral = n
			}
		}
	})
	return ephemeral
}

// FreeAddrs returns n distinct loopback addresses (127.0.0.1:port) that
// nobody listens on, each reserved for tb until its cleanup: no other
// FreeAddrs or NewProxy caller, and nothing binding port 0, gets one
// meanwhile. A test can start a server on one, stop it and start another
// on the same address.
func FreeAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	lo, hi := firstTestPort, ephemeralStart()
	if hi-lo < 1024 {
		tb.Fatalf("the ephemeral port range starts at %d: too few ports below it for tests", hi)
	}
	addrs := make([]string, 0, n)
	for misses := 0; len(addrs) < n; {
		if misses == 1000 {
			tb.Fatalf("no free loopback port in %d tries in %d-%d", misses, lo, hi-1)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
		hold, err := net.ListenPacket("udp", addr)
		if err != nil { // reserved by another caller
			misses++
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil { // something serves on it
			hold.Close()
			misses++
			continue
		}
		ln.Close()
		tb.Cleanup(func() { hold.Close() })
		addrs = append(addrs, addr)
	}
	return addrs
}

// FreeAddr is FreeAddrs for one address.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return FreeAddrs(tb, 1)[0]
}
