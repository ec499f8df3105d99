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
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/js"
)

//go:embed static
var staticFS embed.FS

// asset is one static file, hashed for cache busting.
type asset struct {
	body  []byte
	ctype string
	hash  string // first 12 hex digits of the body's SHA-256
}

// minifier shrinks the scripts and style sheets, which web/static keeps
// readable: embed.js goes to other sites' readers on every first visit.
var minifier = func() *minify.M {
	m := minify.New()
	m.AddFunc(".js", js.Minify)
	m.AddFunc(".css", css.Minify)
	return m
}()

// loadAssets reads the static folder of dir (staticFS, or a test's), plus
// the generated files in extra, minifying scripts and style sheets.
func loadAssets(dir fs.FS, extra map[string][]byte) (map[string]*asset, error) {
	if dir == nil {
		dir = staticFS
	}
	assets := make(map[string]*asset)
	var failed error
	add := func(name string, body []byte) {
		switch ext := path.Ext(name); ext {
		case ".js", ".css":
			small, err := minifier.Bytes(ext, body)
			if err != nil {
				failed = fmt.Errorf("minify %s: %w", name, err)
				return
			}
			body = small
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		assets[name] = &asset{body: body, ctype: ctype, hash: hex.EncodeToString(sum[:6])}
	}
	err := fs.WalkDir(dir, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(dir, p)
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
	if failed != nil {
		return nil, fmt.Errorf("load static assets: %w", failed)
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
// Other sites' pages load embed.js (and what it loads) from here, so the
// files may be used cross-origin.
func (s *Server) handleStatic(c *fiber.Ctx) error {
	a, ok := s.assets[c.Params("name")]
	if !ok {
		return errorf(ENOTFOUND, "There is no such file.")
	}
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
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

// handleEmbedScript serves GET /embed.js, the address other sites put in
// their pages: a short-lived redirect to the current embed.js, whose
// versioned URL is cached for a year.
func (s *Server) handleEmbedScript(c *fiber.Ctx) error {
	a, ok := s.assets["embed.js"]
	if !ok {
		return errorf(ENOTFOUND, "This server has no embed.js.")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.Redirect("/static/embed.js?v="+a.hash, fiber.StatusFound)
}
