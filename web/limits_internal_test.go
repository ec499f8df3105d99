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

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		bits int
		want string
	}{
		{"203.0.113.7", 64, "203.0.113.7/32"},
		{"203.0.113.7", 48, "203.0.113.7/32"}, // the IPv6 prefix leaves IPv4 alone
		{"::ffff:203.0.113.7", 64, "203.0.113.7/32"},
		{"::ffff:203.0.113.7", 128, "203.0.113.7/32"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"},
		{"2001:db8:1:2::1", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2::1", 32, "2001:db8::/32"},
		{"2001:db8:1:2::1", 128, "2001:db8:1:2::1/128"},
		{"fe80::1%eth0", 64, "fe80::/64"}, // a zone is no part of the client
		{"::1", 64, "::/64"},
		{"::", 64, "::/64"},
	} {
		if got := addrKey(netip.MustParseAddr(tc.ip), tc.bits); got.String() != tc.want {
			t.Errorf("addrKey(%s, %d) = %v, want %s", tc.ip, tc.bits, got, tc.want)
		}
	}
	// One /64 is one key, whatever the host part; the next /64 is another.
	a, b := netip.MustParseAddr("2001:db8:0:1::1"), netip.MustParseAddr("2001:db8:0:1:ffff:ffff:ffff:ffff")
	if addrKey(a, 64) != addrKey(b, 64) || addrKey(a, 64) == addrKey(netip.MustParseAddr("2001:db8:0:2::1"), 64) {
		t.Errorf("one /64 must be one key and another /64 another")
	}
	// An IPv4 client and the same address mapped into IPv6 are one client.
	if addrKey(netip.MustParseAddr("192.0.2.1"), 64) != addrKey(netip.MustParseAddr("::ffff:192.0.2.1"), 64) {
		t.Errorf("192.0.2.1 and ::ffff:192.0.2.1 must be one key")
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
