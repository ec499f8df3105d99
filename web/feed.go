package web

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag/posts"
)

// ParsePublicURL checks a --public-url value: an absolute http or https
// URL of the site's root ("https://blog.example.com"), with no path, query,
// fragment or credentials. It returns it without a trailing slash.
func ParsePublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("public url %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("public url %q: want http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("public url %q: no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "", fmt.Errorf("public url %q: want only scheme and host, no credentials, query or fragment", raw)
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("public url %q: readtag serves from the root, so no path", raw)
	case !hostRE.MatchString(u.Host):
		return "", fmt.Errorf("public url %q: bad host", raw)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// hostRE is a host name or IPv4 or bracketed IPv6 address, and a port.
var hostRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// siteURL is the absolute root for links that leave the page (feed,
// sitemap, canonical and link-preview URLs): --public-url when set, or else
// the address this request came to. Without the flag the Host header decides
// it, which is safe only because it is checked to be a plain host and the
// answer goes back to the same client (caches key on Host); behind a proxy
// that terminates TLS or rewrites Host, set --public-url.
func (s *Server) siteURL(c *fiber.Ctx) (string, error) {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL, nil
	}
	host := string(c.Request().Host())
	if !hostRE.MatchString(host) || len(host) > 260 {
		return "", errorf(EINVALID, "The Host header is not a plain host name; links cannot be built from it.")
	}
	return c.Protocol() + "://" + strings.ToLower(host), nil
}

// Atom (RFC 4287) elements that readtag writes.
type (
	atomFeed struct {
		XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
		Title    string      `xml:"title"`
		Subtitle string      `xml:"subtitle,omitempty"`
		ID       string      `xml:"id"`
		Updated  string      `xml:"updated"`
		Links    []atomLink  `xml:"link"`
		Author   *atomPerson `xml:"author"`
		Entries  []atomEntry `xml:"entry"`
	}
	atomLink struct {
		Rel  string `xml:"rel,attr,omitempty"`
		Type string `xml:"type,attr,omitempty"`
		Href string `xml:"href,attr"`
	}
	atomPerson struct {
		Name string `xml:"name"`
	}
	atomEntry struct {
		Title      string         `xml:"title"`
		ID         string         `xml:"id"`
		Updated    string         `xml:"updated"`
		Published  string         `xml:"published,omitempty"`
		Links      []atomLink     `xml:"link"`
		Summary    string         `xml:"summary,omitempty"`
		Categories []atomCategory `xml:"category"`
		Content    *atomText      `xml:"content"`
	}
	atomCategory struct {
		Term string `xml:"term,attr"`
	}
	atomText struct {
		Type string `xml:"type,attr"`
		Body string `xml:",chardata"`
	}
)

// handleFeed serves GET /feed.xml: every published post, newest first, in
// full, as Atom.
func (s *Server) handleFeed(c *fiber.Ctx) error {
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	list, err := s.posts.List()
	if err != nil {
		return internal(err)
	}
	feed := atomFeed{
		Title:    s.cfg.Blog.Title,
		Subtitle: s.cfg.Blog.Description,
		ID:       base + "/",
		Updated:  atomTime(newest(list)),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: base + "/feed.xml"},
			{Rel: "alternate", Type: "text/html", Href: base + "/"},
		},
		Author: &atomPerson{Name: s.cfg.Blog.Author},
	}
	for _, p := range list {
		link := base + "/posts/" + p.Slug
		var cats []atomCategory
		for _, t := range p.Tags {
			cats = append(cats, atomCategory{Term: t})
		}
		feed.Entries = append(feed.Entries, atomEntry{
			Categories: cats,
			Title:      p.Title,
			ID:         link,
			Updated:    atomTime(p.Date),
			Published:  atomTime(p.Date),
			Links:      []atomLink{{Rel: "alternate", Type: "text/html", Href: link}},
			Summary:    p.Summary,
			Content:    &atomText{Type: "html", Body: string(p.HTML)},
		})
	}
	return s.sendXML(c, "application/atom+xml; charset=utf-8", feed)
}

type sitemap struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// handleSitemap serves GET /sitemap.xml: the index, every published post,
// /tags and every tag's page.
func (s *Server) handleSitemap(c *fiber.Ctx) error {
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	list, err := s.posts.List()
	if err != nil {
		return internal(err)
	}
	sm := sitemap{URLs: []sitemapURL{{Loc: base + "/", LastMod: dateOnly(newest(list))}}}
	for _, p := range list {
		sm.URLs = append(sm.URLs, sitemapURL{Loc: base + "/posts/" + p.Slug, LastMod: dateOnly(p.Date)})
	}
	tags, err := s.posts.Tags()
	if err != nil {
		return internal(err)
	}
	if len(tags) > 0 {
		sm.URLs = append(sm.URLs, sitemapURL{Loc: base + "/tags", LastMod: dateOnly(newest(list))})
	}
	for _, t := range tags {
		tagged, err := s.posts.Tagged(t.Tag)
		if err != nil {
			return internal(err)
		}
		sm.URLs = append(sm.URLs, sitemapURL{Loc: base + "/tags/" + t.Tag, LastMod: dateOnly(newest(tagged))})
	}
	return s.sendXML(c, "application/xml; charset=utf-8", sm)
}

// handleRobots serves GET /robots.txt: everything may be crawled but the
// live channels, and the sitemap is named.
func (s *Server) handleRobots(c *fiber.Ctx) error {
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	c.Type("txt", "utf-8")
	return c.SendString("User-agent: *\nDisallow: /ws/\n\nSitemap: " + base + "/sitemap.xml\n")
}

// handleFavicon serves GET /favicon.ico, which browsers ask for on their
// own: the site's icon (SVG, which browsers accept under any name).
func (s *Server) handleFavicon(c *fiber.Ctx) error {
	a := s.assets["favicon.svg"]
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	c.Set(fiber.HeaderContentType, a.ctype)
	return c.Send(a.body)
}

func (s *Server) sendXML(c *fiber.Ctx, ctype string, v any) error {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return internal(fmt.Errorf("encode xml: %w", err))
	}
	c.Set(fiber.HeaderContentType, ctype)
	return c.Send(append([]byte(xml.Header), out...))
}

func newest(list []*posts.Post) time.Time {
	var t time.Time
	for _, p := range list {
		if p.Date.After(t) {
			t = p.Date
		}
	}
	return t
}

// atomTime is an RFC 3339 time; a blog without posts was updated at the epoch.
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func dateOnly(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

var errNoFavicon = errors.New("web/static/favicon.svg is missing")
