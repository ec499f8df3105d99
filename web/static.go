package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var staticFS embed.FS

// asset is one static file, hashed for cache busting.
type asset struct {
	body  []byte
	ctype string
	hash  string // first 12 hex digits of the body's SHA-256
}

// loadAssets reads web/static plus the generated files in extra.
func loadAssets(extra map[string][]byte) (map[string]*asset, error) {
	assets := make(map[string]*asset)
	add := func(name string, body []byte) {
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		assets[name] = &asset{body: body, ctype: ctype, hash: hex.EncodeToString(sum[:6])}
	}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		add(path.Base(p), body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	for name, body := range extra {
		add(name, body)
	}
	return assets, nil
}

// assetURL is the template function "asset": the file's URL, versioned by
// its content hash so that it can be cached for good.
func (s *Server) assetURL(name string) (string, error) {
	a, ok := s.assets[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return "/static/" + name + "?v=" + a.hash, nil
}

// handleStatic serves GET /static/:name. A request carrying the current
// version is cacheable for a year; any other for five minutes, with an ETag.
func (s *Server) handleStatic(c *fiber.Ctx) error {
	a, ok := s.assets[c.Params("name")]
	if !ok {
		return errorf(ENOTFOUND, "There is no such file.")
	}
	etag := `"` + a.hash + `"`
	c.Set(fiber.HeaderETag, etag)
	if c.Query("v") == a.hash {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	}
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	return c.Send(a.body)
}
