package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
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

func resumeMAC(key []byte, room string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("readtag-resume-v1\x00"))
	m.Write([]byte(room))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// issueResume returns a token for reader you of room, valid until
// now + ResumeTTL; "" without a key.
func (s *Server) issueResume(room string, you readtag.Reader, now time.Time) string {
	if len(s.cfg.ResumeKey) == 0 || you.ID == "" {
		return ""
	}
	payload, err := json.Marshal(resumeClaims{ID: you.ID, Name: you.Name, Color: you.Color, Node: s.node(),
		Expiry: now.Add(s.cfg.ResumeTTL).Unix()})
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(resumeMAC(s.cfg.ResumeKey, room, payload))
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
		!hmac.Equal(mac, resumeMAC(s.cfg.ResumeKey, room, payload)) {
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
