package testutil

import (
	"bufio"
	"fmt"
	"io"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	p := NewProxy(t, ln.Addr().String())
	if c, err := net.ListenPacket("udp", p.Addr()); err == nil {
		c.Close()
		t.Fatalf("the proxy's address %s is not reserved", p.Addr())
	}
	echo := func(line string) (string, error) {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			return "", err
		}
		s, err := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSuffix(s, "\n"), err
	}
	if got, err := echo("one"); err != nil || got != "one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	if err := p.Refuse(true); err != nil {
		t.Fatal(err)
	}
	if _, err := echo("refused"); err == nil {
		t.Fatal("a refusing proxy answered")
	}
	if err := p.Refuse(false); err != nil {
		t.Fatal(err)
	}
	if got, err := echo("two"); err != nil || got != "two" {
		t.Fatalf("after listening again: %q, %v", got, err)
	}
}
