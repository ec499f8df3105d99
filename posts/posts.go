// Package posts loads and renders readtag's blog posts: Markdown files with
// YAML front matter, from the embedded copy or, for writing, from a folder on
// disk that is re-read whenever a file changes.
package posts

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
)

// ErrNotFound is returned for a slug that names no published post.
var ErrNotFound = errors.New("post not found")

// MaxSlugLen bounds a slug; longer ones are never looked up.
const MaxSlugLen = 100

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// ValidSlug reports whether s can name a post: lowercase letters, digits and
// single dashes, at most MaxSlugLen bytes. Nothing else reaches the file
// system, so "..", "/" and encoded tricks never do.
func ValidSlug(s string) bool {
	return len(s) <= MaxSlugLen && slugRE.MatchString(s)
}

// Post is one rendered post.
type Post struct {
	Slug           string
	Title          string
	Date           time.Time
	Summary        string
	Draft          bool
	ReadingMinutes int
	HTML           template.HTML
	// Tags are the front matter's tags: lowercase words (ValidTag), each with
	// a page of its posts.
	Tags []string
	// TOC lists the article's h2 and h3 headings when the front matter says
	// toc: true; nil otherwise.
	TOC []Heading
	// Image is the front matter's image: the link-preview picture
	// (og:image), an absolute URL or a path on this site (CheckImage).
	// Empty: the site's default.
	Image string
	// Broken is set in live mode when the file on disk no longer parses:
	// the post is then its last version that did, and Broken says why the
	// newer one is not shown.
	Broken error
}

// Heading is one entry of a table of contents.
type Heading struct {
	Level int    // 2 or 3
	ID    string // the heading's id attribute, for the link
	Text  string
}

// Library is the set of posts in an fs.FS. It is safe for concurrent use.
type Library struct {
	fsys fs.FS
	live bool
	md   goldmark.Markdown
	log  *slog.Logger

	parseMu sync.Mutex // held while a changed file is read and parsed (load)

	mu      sync.Mutex
	cache   map[string]cached // by file name
	frozen  bool              // not live and fully loaded: the cache is all there is
	opened  bool              // Open has returned: parse errors are logged, not returned to it
	scanned time.Time         // the last scan for a post not found
}

// Open parses every post in fsys and fails on the first broken one, naming
// the file and the reason. A folder without posts is fine: the index says
// there are none yet, and in live mode the first one shows up when written. With live set, files are checked again on every
// request and re-parsed when they changed (for writing posts on disk). A
// file that breaks then is logged (once per change, at error level, with the
// file, line and reason); a post that parsed before keeps being served in
// its last good version, marked Broken, and one that never did is left out
// of the list and yields its error.
func Open(fsys fs.FS, live bool) (*Library, error) {
	l := &Library{
		fsys:  fsys,
		live:  live,
		log:   slog.Default(),
		cache: make(map[string]cached),
		md:    newMarkdown(),
	}
	names, err := l.names()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := l.load(name); err != nil {
			return nil, err
		}
	}
	l.frozen, l.opened = !live, true
	return l, nil
}

// SetLogger sets where live mode reports files that fail to parse. Zero
// value (not calling it) means slog.Default().
func (l *Library) SetLogger(log *slog.Logger) {
	l.mu.Lock()
	l.log = log
	l.mu.Unlock()
}

// List returns the published posts, newest first. In live mode a post that
// no longer parses is listed in its last good version; one that never
// parsed is left out (its own page shows the error, and the log says why).
func (l *Library) List() ([]*Post, error) {
	names, err := l.names()
	if err != nil {
		return nil, err
	}
	var list []*Post
	for _, name := range names {
		p, _ := l.load(name)
		if p == nil || p.Draft {
			continue
		}
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *Post) int {
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	return list, nil
}

// Live reports whether the library re-reads changed files (Open's live).
func (l *Library) Live() bool { return l.live }

// Get returns the published post with this slug, ErrNotFound, or (in live
// mode) the error that stops a post that never parsed from showing. A post
// that parsed once and broke since is its last good version, marked Broken.
func (l *Library) Get(slug string) (*Post, error) {
	if !ValidSlug(slug) {
		l.scan()
		return nil, ErrNotFound
	}
	p, err := l.load(slug + ".md")
	if errors.Is(err, fs.ErrNotExist) {
		l.scan()
		return nil, ErrNotFound
	}
	if p == nil {
		return nil, err
	}
	if p.Draft {
		return nil, ErrNotFound
	}
	if err != nil {
		stale := *p
		stale.Broken = err
		return &stale, nil
	}
	return p, nil
}

// MaxImageLen bounds an image URL (front matter image, --site-image).
const MaxImageLen = 2000

// CheckImage checks a link-preview image: an absolute http or https URL
// with a host, or a path on this site starting with one slash
// (/images/cover.png), at most MaxImageLen bytes, without spaces, quotes,
// angle brackets or control characters. Link previews need an absolute URL,
// so a path is joined to the site's root when a page is rendered.
func CheckImage(raw string) error {
	if raw == "" || len(raw) > MaxImageLen {
		return fmt.Errorf("want a URL of 1 to %d bytes", MaxImageLen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '<' || r == '>' || r == '\\' || r == utf8.RuneError
	}) {
		return fmt.Errorf("%q: spaces, quotes, angle brackets, backslashes and control characters are not allowed", raw)
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return fmt.Errorf("%q: a path on this site starts with one slash; another site's image needs https://", raw)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q: want an http:// or https:// URL with a host, or a path starting with /", raw)
	}
	return nil
}
