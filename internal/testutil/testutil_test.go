package testutil

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSyncBufferKeepsEveryWrite(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				fmt.Fprintf(&b, "%d-%d\n", i, j)
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestEventuallyWaitsForCond(t *testing.T) {
	var polls atomic.Int32
	Eventually(t, "the third poll", func() bool { return polls.Add(1) == 3 })
	if n := polls.Load(); n != 3 {
		t.Errorf("cond polled %d times, want 3", n)
	}
}

func TestFreeAddrsAreReservedUntilCleanup(t *testing.T) {
	var addrs []string
	t.Run("reserve", func(t *testing.T) {
		addrs = FreeAddrs(t, 20)
		seen := map[string]bool{}
		for _, addr := range addrs {
			if seen[addr] {
				t.Fatalf("%s handed out twice", addr)
			}
			seen[addr] = true
			host, port, err := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(port)
			if err != nil || host != "127.0.0.1" || n < firstTestPort || n >= ephemeralStart() {
				t.Fatalf("%s is not a loopback port from %d below the ephemeral range (%d)", addr, firstTestPort, ephemeralStart())
			}
			// The test may listen on it; no other caller may reserve it.
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("listen on %s: %v", addr, err)
			}
			ln.Close()
			if c, err := net.ListenPacket("udp", addr); err == nil {
				c.Close()
				t.Fatalf("%s is not reserved", addr)
			}
		}
	})
	for _, addr := range addrs {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("%s still reserved after the cleanup: %v", addr, err)
		}
		c.Close()
	}
}

func TestNewProxyRefusesAndListensAgain(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	p := NewProxy(t, target.Addr().String())
	if c, err := net.ListenPacket("udp", p.Addr()); err == nil {
		c.Close()
		t.Fatalf("the proxy's address %s is not reserved", p.Addr())
	}
	// through dials the proxy and says whether the target got the connection.
	through := func() error {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = target.(*net.TCPListener).SetDeadline(time.Now().Add(2 * time.Second))
		forwarded, err := target.Accept()
		if err != nil {
			return err
		}
		return forwarded.Close()
	}
	if err := through(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if err := p.Refuse(true); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("a refusing proxy accepted")
	}
	if err := p.Refuse(false); err != nil {
		t.Fatal(err)
	}
	if err := through(); err != nil {
		t.Fatalf("after listening again: %v", err)
	}
}
