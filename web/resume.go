package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/readtag/readtag"
)

// A resume token lets a page that lost its socket (a restart, a dropped
// connection) come back as the same reader: same id, name and colour. It
// is opaque to the page, which keeps it per tab and sends it back as the
// resume query parameter of its next upgrade. It is
//
//	base64url(payload) "." base64url(HMAC-SHA256(key, "readtag-resume-v1\x00" room "\x00" payload))
//
// with payload the JSON of resumeClaims. The room is in the MAC, not the
// payload: a token shown to another room fails its check like a forged
// one. Anything that does not check out (forged, another room, expired,
// too long, garbage) gives a fresh identity, never an error: the token is
// a courtesy, not a credential.
type resumeClaims struct {
	ID     string `json:"i"`
	Name   string `json:"n"`
	Color  string `json:"c"`
	Node   string `json:"o,omitempty"` // the node that issued it (cluster mode)
	Expiry int64  `json:"x"`           // unix seconds
}

// maxResumeToken bounds a token the server will look at; its own are
// about 200 bytes whatever the room (the room is in the MAC only).
const maxResumeToken = 512

// Resume token results, the values of readtag_resume_total's "result".
var resumeResults = []string{"kept", "other_node", "expired", "invalid"}

// resumeScratch is one token's working state, pooled per server
// (Server.tokens): the HMAC is keyed once and reset, and the payload,
// MAC and token are built in reused buffers, so issuing a token allocates
// only the token (15,000 live readers renew 50 a second at the default
// ResumeTTL, 250 a second in the idle benchmark's window).
type resumeScratch struct {
	mac hash.Hash
	buf []byte // the MAC's input
	sum []byte
	out []byte // payload JSON, then the token
}

func (s *Server) resumeScratch() *resumeScratch {
	if r, ok := s.tokens.Get().(*resumeScratch); ok {
		return r
	}
	return &resumeScratch{mac: hmac.New(sha256.New, s.cfg.ResumeKey)}
}

// sign returns the MAC of payload for room, in r's scratch.
func (r *resumeScratch) sign(room string, payload []byte) []byte {
	r.buf = append(append(append(append(r.buf[:0], "readtag-resume-v1\x00"...), room...), 0), payload...)
	r.mac.Reset()
	r.mac.Write(r.buf)
	r.sum = r.mac.Sum(r.sum[:0])
	return r.sum
}

// appendClaims writes c as json.Marshal does (TestResumeClaimsJSON).
func appendClaims(b []byte, c resumeClaims) []byte {
	b = append(b, `{"i":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"n":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"c":`...)
	b = appendString(b, c.Color)
	if c.Node != "" {
		b = append(b, `,"o":`...)
		b = appendString(b, c.Node)
	}
	b = append(b, `,"x":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	return append(b, '}')
}

// issueResume returns a token for reader you of room, valid until
// now + ResumeTTL; "" without a key.
func (s *Server) issueResume(room string, you readtag.Reader, now time.Time) string {
	if len(s.cfg.ResumeKey) == 0 || you.ID == "" {
		return ""
	}
	r := s.resumeScratch()
	defer s.tokens.Put(r)
	return r.issue(room, resumeClaims{ID: you.ID, Name: you.Name, Color: you.Color, Node: s.node(),
		Expiry: now.Add(s.cfg.ResumeTTL).Unix()})
}

// issue returns the token of c for room; the token is its only allocation.
func (r *resumeScratch) issue(room string, c resumeClaims) string {
	payload := appendClaims(r.out[:0], c)
	mac := r.sign(room, payload)
	// The token goes after the payload in the same buffer, then is copied out.
	n := len(payload)
	b := base64.RawURLEncoding.AppendEncode(payload, payload)
	b = append(b, '.')
	b = base64.RawURLEncoding.AppendEncode(b, mac)
	r.out = b
	return string(b[n:])
}

// checkResume reads a token sent for room. ok is false for one that does
// not check out, with why the result to count.
func (s *Server) checkResume(room, token string, now time.Time) (c resumeClaims, why string, ok bool) {
	if len(s.cfg.ResumeKey) == 0 || len(token) > maxResumeToken {
		return c, "invalid", false
	}
	p64, m64, found := strings.Cut(token, ".")
	if !found {
		return c, "invalid", false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	// Only the exact text the server issued: Go's decoder skips '\r' and
	// '\n' and tolerates non-zero padding bits, so a decoded token is
	// encoded again and compared (one token, one spelling).
	if err1 != nil || err2 != nil ||
		base64.RawURLEncoding.EncodeToString(payload) != p64 || base64.RawURLEncoding.EncodeToString(mac) != m64 ||
		!s.checkMAC(room, payload, mac) {
		return c, "invalid", false
	}
	if json.Unmarshal(payload, &c) != nil || c.ID == "" || len(c.ID) > 64 || !validResumeName(c.Name) || !validResumeColor(c.Color) {
		return resumeClaims{}, "invalid", false
	}
	if now.Unix() > c.Expiry {
		return resumeClaims{}, "expired", false
	}
	return c, "kept", true
}

// checkMAC reports whether mac is payload's for room.
func (s *Server) checkMAC(room string, payload, mac []byte) bool {
	r := s.resumeScratch()
	defer s.tokens.Put(r)
	return hmac.Equal(mac, r.sign(room, payload))
}

func validResumeName(n string) bool { return n != "" && len(n) <= 64 }

func validResumeColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	return !slices.ContainsFunc([]byte(c[1:]), func(b byte) bool {
		return !('0' <= b && b <= '9' || 'a' <= b && b <= 'f')
	})
}

// node is this server's node id, "" on a single node.
func (s *Server) node() string {
	if s.cfg.Health == nil {
		return ""
	}
	_, node, _ := s.cfg.Health()
	return node
}

// resumeReader decides who an upgrading reader of room is: the token's
// reader when it checks out, else a fresh one. A token of another node of
// the cluster keeps its name and colour (when free there) under a fresh id,
// so that one id is never live on two nodes.
func (s *Server) resumeReader(room, token string) readtag.Reader {
	fresh := readtag.Reader{ID: newReaderID()}
	if token == "" {
		return fresh
	}
	c, why, ok := s.checkResume(room, token, time.Now())
	if ok && c.Node != s.node() {
		why = "other_node"
	}
	s.metrics.resume.WithLabelValues(why).Inc()
	switch {
	case !ok:
		return fresh
	case why == "other_node":
		fresh.Name, fresh.Color = c.Name, c.Color
		return fresh
	}
	return readtag.Reader{ID: c.ID, Name: c.Name, Color: c.Color}
}
