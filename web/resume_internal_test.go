package web

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/readtag/readtag"
)

// resumeServer is just enough of a Server for the token functions, as node
// node of a cluster sharing key.
func resumeServer(key, node string) *Server {
	return &Server{
		cfg: Config{ResumeKey: []byte(key), ResumeTTL: 5 * time.Minute,
			Health: func() (bool, string, []string) { return true, node, nil }},
		metrics: newMetrics(nil, nil),
	}
}

// A resume token gives back its reader only in its room, before its expiry,
// from a server with the key; everything else is a fresh reader, counted.
func TestResumeTokens(t *testing.T) {
	s := resumeServer("key one", "a")
	now := time.Now()
	you := readtag.Reader{ID: "abcdefghijklm", Name: "Teal Otter", Color: "#12a594"}
	good := s.issueResume("hello", you, now)
	if got := s.resumeReader("hello", good); got != you {
		t.Fatalf("a good token gave %+v, want %+v", got, you)
	}
	payload, mac, _ := strings.Cut(good, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "Teal Otter", "Red Fox", 1))) + "." + mac
	for _, tc := range []struct {
		name, room, token, why string
	}{
		{"forged payload", "hello", forged, "invalid"},
		{"forged mac", "hello", payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), "invalid"},
		{"another room", "other-post", good, "invalid"},
		{"another key", "hello", resumeServer("key two", "a").issueResume("hello", you, now), "invalid"},
		{"expired", "hello", s.issueResume("hello", you, now.Add(-6*time.Minute)), "expired"},
		{"huge", "hello", good + strings.Repeat("A", maxResumeToken), "invalid"},
		{"garbage", "hello", "%%%.not base64", "invalid"},
		{"no dot", "hello", payload, "invalid"},
		{"empty payload", "hello", "." + mac, "invalid"},
		// Go's decoder skips line breaks: the same token spelt another way
		// (CI's fuzzing found it) is not the token issued.
		{"a newline inside", "hello", payload[:10] + "\n" + payload[10:] + "." + mac, "invalid"},
		{"a carriage return inside", "hello", payload + "." + mac[:5] + "\r" + mac[5:], "invalid"},
		{"other padding bits", "hello", payload + "." + mac[:len(mac)-1] + string(mac[len(mac)-1]^1), "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counted(s.metrics.resume.WithLabelValues(tc.why))
			got := s.resumeReader(tc.room, tc.token)
			if got.ID == you.ID || got.Name != "" || got.Color != "" || len(got.ID) != 13 {
				t.Errorf("got %+v, want a fresh reader", got)
			}
			if n := counted(s.metrics.resume.WithLabelValues(tc.why)) - before; n != 1 {
				t.Errorf("readtag_resume_total{result=%q} went up by %v, want 1", tc.why, n)
			}
		})
	}

	// Another node that shares the key keeps the name and colour under a
	// fresh id: one id is never live on two nodes.
	b := resumeServer("key one", "b")
	got := b.resumeReader("hello", good)
	if got.ID == you.ID || got.Name != you.Name || got.Color != you.Color {
		t.Errorf("another node gave %+v, want a fresh id with %s %s", got, you.Name, you.Color)
	}
	if n := counted(b.metrics.resume.WithLabelValues("other_node")); n != 1 {
		t.Errorf("other_node counted %v times, want 1", n)
	}

	// Without a key there are no tokens, and any sent is ignored.
	none := resumeServer("", "a")
	if tok := none.issueResume("hello", you, now); tok != "" {
		t.Errorf("a server without a key issued %q", tok)
	}
	if got := none.resumeReader("hello", good); got.ID == you.ID {
		t.Error("a server without a key took a token")
	}
}

// counted is a counter's value.
func counted(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// FuzzResumeToken: whatever a page sends as its token, the server decides
// without panicking, and only a token it issued for that room checks out.
func FuzzResumeToken(f *testing.F) {
	s := resumeServer("fuzz key", "a")
	// A fixed clock: every fuzz worker issues the same good token.
	now := time.Unix(1_800_000_000, 0)
	good := s.issueResume("hello", readtag.Reader{ID: "abcdefghijklm", Name: "Teal Otter", Color: "#12a594"}, now)
	for _, seed := range []string{good, "", ".", "..", good + "x", good[:17] + "\n" + good[17:], "e30.", strings.Repeat("A", 600), "eyJpIjoiYSJ9.AAAA"} {
		f.Add("hello", seed)
	}
	f.Fuzz(func(t *testing.T, room, token string) {
		c, why, ok := s.checkResume(room, token, now)
		if ok != (why == "kept") {
			t.Fatalf("ok %v with result %q", ok, why)
		}
		if ok && (room != "hello" || token != good || c.ID != "abcdefghijklm") {
			t.Fatalf("room %q token %q checked out as %+v", room, token, c)
		}
		if r := s.resumeReader(room, token); r.ID == "" {
			t.Fatal("no reader id")
		}
	})
}

// Tokens are built by hand (appendClaims) to spare the garbage of
// json.Marshal for every renewal; the payload must stay byte for byte what
// json.Marshal wrote, or tokens issued before an upgrade stop checking out.
func TestResumeClaimsJSON(t *testing.T) {
	for _, c := range []resumeClaims{
		{ID: "abcdefghijklm", Name: "Teal Otter", Color: "#12a594", Expiry: 1_800_000_000},
		{ID: "a", Name: "Ünïcode \"quoted\" <b>&amp;</b> \\ \u2028", Color: "#000000", Node: "node-b", Expiry: -5},
		{ID: "tab\there", Name: "x\x01y", Color: "#ffffff", Node: "a&b"},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendClaims(nil, c); string(got) != string(want) {
			t.Errorf("appendClaims(%+v)\n got %s\nwant %s", c, got, want)
		}
	}
}

// A token renewal allocates the token and nothing else: 15,000 idle
// readers renew 50 tokens a second, 250 in the idle benchmark's window,
// and their garbage was heap the collector let grow (docs/performance.md,
// issue 24).
func TestResumeIssueAllocatesOnlyTheToken(t *testing.T) {
	s := resumeServer("key one", "a")
	r := s.resumeScratch()
	c := resumeClaims{ID: "abcdefghijklm", Name: "Teal Otter", Color: "#12a594", Node: "a", Expiry: 1_800_000_000}
	tok := r.issue("hello", c)
	if got, _, ok := s.checkResume("hello", tok, time.Unix(1_700_000_000, 0)); !ok || got != c {
		t.Fatalf("the token checks out as %+v, %v", got, ok)
	}
	if n := testing.AllocsPerRun(100, func() { tok = r.issue("hello", c) }); n != 1 {
		t.Errorf("issuing a token: %v allocations, want 1 (the token)", n)
	}
}
