package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echo is a loopback server that writes back every line it reads.
func echo(t *testing.T) string {
	t.Helper()
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
	return ln.Addr().String()
}

func start(t *testing.T) *Proxy {
	t.Helper()
	p, err := New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func connect(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends a line and returns what came back within d.
func roundTrip(c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func TestForwards(t *testing.T) {
	p := start(t)
	c, r := connect(t, p)
	if got, err := roundTrip(c, r, "hello", 2*time.Second); err != nil || got != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestBlackHoleHoldsThenDelivers(t *testing.T) {
	for _, d := range []Dir{Forward, Backward} {
		t.Run(d.String(), func(t *testing.T) {
			p := start(t)
			c, r := connect(t, p)
			p.BlackHole(d, true)
			if _, err := roundTrip(c, r, "held", 200*time.Millisecond); err == nil {
				t.Fatal("a line went through a black hole")
			}
			if err := p.Heal(); err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if s, err := r.ReadString('\n'); err != nil || s != "held\n" {
				t.Fatalf("after healing got %q, %v", s, err)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	p := start(t)
	c, r := connect(t, p)
	p.Delay(Forward, 150*time.Millisecond)
	start := time.Now()
	if got, err := roundTrip(c, r, "slow", 2*time.Second); err != nil || got != "slow" {
		t.Fatalf("got %q, %v", got, err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("a round trip took %v through a 150 ms delay", took)
	}
}

func TestReset(t *testing.T) {
	p := start(t)
	c, r := connect(t, p)
	if _, err := roundTrip(c, r, "one", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	_, err := roundTrip(c, r, "two", 2*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("after a reset: %v", err)
	}
	c2, r2 := connect(t, p)
	if got, err := roundTrip(c2, r2, "three", 2*time.Second); err != nil || got != "three" {
		t.Fatalf("a new connection after a reset: %q, %v", got, err)
	}
}

func TestRefuse(t *testing.T) {
	p := start(t)
	if err := p.Refuse(true); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("a refusing proxy accepted")
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	c, r := connect(t, p)
	if got, err := roundTrip(c, r, "back", 2*time.Second); err != nil || got != "back" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestAcceptThenReset(t *testing.T) {
	p := start(t)
	p.AcceptThenReset(true)
	// The reset may come during the dial (if it wins the race with the
	// handshake's last ACK) or on the first read.
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		defer c.Close()
		if _, err := roundTrip(c, bufio.NewReader(c), "x", 2*time.Second); err == nil {
			t.Fatal("a line went through an accept-then-reset proxy")
		}
	}
	if p.Accepted() == 0 {
		t.Error("the connection was not accepted")
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, target := range []string{"10.0.0.1:80", "example.com:80", "nonsense", "[::2]:1"} {
		if p, err := New(target); err == nil {
			p.Close()
			t.Errorf("New(%q) accepted a target that is not loopback", target)
		}
	}
}

func TestNewAtListensOnAddr(t *testing.T) {
	target := echo(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if p, err := NewAt(taken.Addr().String(), target); err == nil {
		p.Close()
		t.Fatalf("NewAt(%s) listened on an address in use", taken.Addr())
	}
	for _, addr := range []string{"0.0.0.0:0", "10.0.0.1:0", ":0", "nonsense"} {
		if p, err := NewAt(addr, target); err == nil {
			p.Close()
			t.Errorf("NewAt(%q) listened on an address that is not loopback", addr)
		}
	}
	p, err := NewAt("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if host, port, _ := net.SplitHostPort(p.Addr()); host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q, want 127.0.0.1 and the port it listens on", p.Addr())
	}
	c, r := connect(t, p)
	if got, err := roundTrip(c, r, "at", 2*time.Second); err != nil || got != "at" {
		t.Fatalf("got %q, %v", got, err)
	}
}
