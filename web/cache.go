package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
)

// compressor compresses text responses with brotli or gzip, whichever the
// client prefers (q-values honoured, q=0 refused). WebSocket upgrades are
// left alone: their 101 has no body, and the socket is not HTTP's to touch.
func compressor() fiber.Handler {
	inner := compress.New(compress.Config{Level: compress.LevelDefault})
	return func(c *fiber.Ctx) error {
		if strings.HasPrefix(c.Path(), "/ws/") {
			return c.Next()
		}
		coding := negotiate(c.Get(fiber.HeaderAcceptEncoding))
		if coding == "" {
			c.Request().Header.Del(fiber.HeaderAcceptEncoding)
			err := c.Next()
			c.Vary(fiber.HeaderAcceptEncoding)
			return err
		}
		// fasthttp's own choice ignores q-values: hand it only ours.
		c.Request().Header.Set(fiber.HeaderAcceptEncoding, coding)
		return inner(c)
	}
}

// negotiate picks "br", "gzip" or "" (identity) from an Accept-Encoding
// value. Anything it does not understand counts as not offered.
func negotiate(header string) string {
	if len(header) > 1024 {
		return ""
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q, ok := 1.0, true
		for _, p := range strings.Split(params, ";") {
			if k, v, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				q, ok = f, err == nil && f >= 0 && f <= 1
			}
		}
		if !ok {
			continue
		}
		switch {
		case q == 0:
		case name == "br" && q >= bestQ: // brotli wins a tie
			best, bestQ = "br", q
		case (name == "gzip" || name == "x-gzip") && q > bestQ:
			best, bestQ = "gzip", q
		}
	}
	return best
}

// validators gives pages and feeds an ETag (a hash of the body) and a
// Last-Modified (when this process started serving this content), and
// answers 304 Not Modified when the client's copy is current. Static assets
// have their own (static.go); sockets and health checks none.
func (s *Server) validators(c *fiber.Ctx) error {
	if (c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead) || noValidators(c.Path()) {
		return c.Next()
	}
	if err := c.Next(); err != nil {
		return err
	}
	resp := c.Response()
	if resp.StatusCode() != fiber.StatusOK {
		return nil
	}
	sum := sha256.Sum256(resp.Body())
	etag := `W/"` + hex.EncodeToString(sum[:12]) + `"`
	c.Set(fiber.HeaderETag, etag)
	if len(resp.Header.Peek(fiber.HeaderCacheControl)) == 0 {
		c.Set(fiber.HeaderCacheControl, "no-cache") // keep, but ask each time
	}
	var modified time.Time
	if !s.cfg.LiveViews && !s.posts.Live() {
		modified = s.started
		c.Set(fiber.HeaderLastModified, modified.Format(http.TimeFormat))
	}
	if notModified(c.Get(fiber.HeaderIfNoneMatch), c.Get(fiber.HeaderIfModifiedSince), etag, modified) {
		resp.ResetBody()
		c.Status(fiber.StatusNotModified)
	}
	return nil
}

func noValidators(path string) bool {
	return strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/ws/") ||
		path == "/healthz" || path == "/metrics"
}

// notModified applies RFC 9110 §13.1: If-None-Match, when present, decides
// (weak comparison, "*" matches anything); only without it does
// If-Modified-Since count. A date that does not parse is ignored.
func notModified(ifNoneMatch, ifModifiedSince, etag string, modified time.Time) bool {
	if ifNoneMatch != "" {
		want := strings.TrimPrefix(etag, "W/")
		for _, tag := range strings.Split(ifNoneMatch, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
				return true
			}
		}
		return false
	}
	if ifModifiedSince == "" || modified.IsZero() {
		return false
	}
	since, err := http.ParseTime(ifModifiedSince)
	return err == nil && !modified.After(since)
}
