package web

import (
	"net/netip"
	"strings"
	"testing"
)

func TestForwardedFor(t *testing.T) {
	trusted := func(a netip.Addr) bool {
		return netip.MustParsePrefix("10.0.0.0/8").Contains(a) || a.IsLoopback()
	}
	peer := netip.MustParseAddr("10.1.1.1")
	for _, tc := range []struct {
		headers []string
		want    string
		header  bool
	}{
		{nil, "10.1.1.1", false},
		{[]string{"203.0.113.7"}, "203.0.113.7", true},
		{[]string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7", true},
		{[]string{"203.0.113.7, 10.2.2.2"}, "203.0.113.7", true},
		{[]string{"203.0.113.7", "10.2.2.2,127.0.0.1"}, "203.0.113.7", true},
		{[]string{"garbage, 10.2.2.2"}, "10.2.2.2", true},
		{[]string{"garbage"}, "10.1.1.1", false},
		{[]string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3", true},
		{[]string{"[2001:db8::1]:443"}, "2001:db8::1", true},
		{[]string{"203.0.113.7:5555"}, "203.0.113.7", true},
		{[]string{"::ffff:203.0.113.7"}, "203.0.113.7", true},
		{[]string{""}, "10.1.1.1", false},
		{[]string{" , "}, "10.1.1.1", false},
	} {
		var hs [][]byte
		for _, h := range tc.headers {
			hs = append(hs, []byte(h))
		}
		got, header := forwardedFor(peer, hs, trusted)
		if got.String() != tc.want || header != tc.header {
			t.Errorf("X-Forwarded-For %q: %v (from header %v), want %v (%v)", tc.headers, got, header, tc.want, tc.header)
		}
	}
}

func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "1.2.3.4, 10.0.0.1", "[::1]:80,garbage", ",,,"} {
		f.Add(s)
	}
	trusted := func(a netip.Addr) bool { return netip.MustParsePrefix("10.0.0.0/8").Contains(a) }
	peer := netip.MustParseAddr("10.9.9.9")
	f.Fuzz(func(t *testing.T, h string) {
		got, header := forwardedFor(peer, [][]byte{[]byte(h)}, trusted)
		if !header {
			if got != peer {
				t.Fatalf("%q: %v not from the header, yet not the peer", h, got)
			}
			return
		}
		// The answer is one of the listed hops, never made up.
		for _, hop := range strings.Split(h, ",") {
			if a, ok := parseHop([]byte(hop)); ok && a == got {
				return
			}
		}
		t.Fatalf("%q: %v is not among the hops", h, got)
	})
}

func TestBothLengths(t *testing.T) {
	for raw, want := range map[string]bool{
		"Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n": true,
		"host: x\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n": true,
		"Content-Length : 5\r\nTransfer-Encoding:chunked\r\n":            true,
		"Host: x\r\nContent-Length: 5\r\n":                               false,
		"Host: x\r\nTransfer-Encoding: chunked\r\n":                      false,
		"X-Content-Length: 5\r\nTransfer-Encoding: chunked\r\n":          false,
		"": false,
	} {
		if got := bothLengths([]byte(raw)); got != want {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
}
