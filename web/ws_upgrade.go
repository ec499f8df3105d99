package web

import (
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/internal/pagekey"
)

// localReader and localHidden are the c.Locals keys carrying the reader id
// and its hide-me choice from the upgrade check into the WebSocket handler
// (only string keys survive the upgrade).
const (
	localReader = "readtag.reader"
	localHidden = "readtag.hidden"
	localName   = "readtag.name"  // a resumed reader's name (resume.go)
	localColor  = "readtag.color" // and colour
)

// setReader hands the reader an upgrade decided on (resumeReader) to the
// WebSocket handler.
func setReader(c *fiber.Ctx, who readtag.Reader) {
	c.Locals(localReader, who.ID)
	c.Locals(localName, who.Name)
	c.Locals(localColor, who.Color)
}

// parseHidden reads the hide-me query parameter: absent, "0" or "false"
// show the reader to others; "1" or "true" hide it.
func parseHidden(v string) (bool, error) {
	switch v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errorf(EINVALID, `The "hidden" parameter must be 1 or 0.`)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newReaderID returns 13 random characters (64 bits).
func newReaderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// handleUpgrade serves GET /ws/posts/:slug before the upgrade: the post must
// exist (404 otherwise), the Origin must be this site or an allowed one
// (403 otherwise), the request must be a WebSocket upgrade (426), and the
// node and the client's address must be under their caps (503, 429).
func (s *Server) handleUpgrade(c *fiber.Ctx) error {
	if _, err := s.lookup(c.Params("slug"), false); err != nil {
		return err
	}
	if !s.originAllowed(c) {
		s.log.Debug("websocket origin refused", "origin", c.Get(fiber.HeaderOrigin), "host", c.Hostname())
		return errorf(EFORBIDDEN, "This site's live readers are not available to pages of other sites.")
	}
	hidden, err := parseHidden(c.Query("hidden"))
	if err != nil {
		return err
	}
	if !fws.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This address speaks WebSocket only.")
	}
	who := s.resumeReader(c.Params("slug"), c.Query("resume"))
	setReader(c, who)
	c.Locals(localHidden, hidden)
	ip, viaProxy := s.clientIP(c)
	s.log.Debug("websocket upgrade", "reader", who.ID, "post", c.Params("slug"), "remote", ip.String())
	return s.admit(c, ip, viaProxy, nil)
}

// originAllowed accepts requests without an Origin (not a browser, so not a
// cross-site page), the page's own origin, and the configured extra ones.
// Scheme and host compare case-insensitively and a default port (80 for
// http, 443 for https) is the same as none.
func (s *Server) originAllowed(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	if slices.Contains(s.cfg.AllowedOrigins, "*") {
		return true
	}
	o, err := CanonicalOrigin(origin)
	if err != nil {
		return false
	}
	if slices.Contains(s.cfg.AllowedOrigins, o) {
		return true
	}
	// The page's own origin: its host is the one this request was sent to.
	scheme, _, _ := strings.Cut(o, "://")
	own, err := CanonicalOrigin(scheme + "://" + string(c.Request().Host()))
	return err == nil && own == o
}

// CanonicalOrigin checks that s is a web origin (scheme://host[:port], with
// scheme http or https and nothing after the host but an optional "/") and
// returns it lowercased, without a default port: "HTTPS://Example.COM:443/"
// becomes "https://example.com". It is pagekey.CanonicalOrigin, which the
// embedded pages' addresses go through too.
func CanonicalOrigin(s string) (string, error) { return pagekey.CanonicalOrigin(s) }
