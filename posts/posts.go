// Package posts loads and renders readtag's blog posts: Markdown files with
// YAML front matter, from the embedded copy or, for writing, from a folder on
// disk that is re-read whenever a file changes.
package posts

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	meta "github.com/yuin/goldmark-meta"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// ErrNotFound is returned for a slug that names no published post.
var ErrNotFound = errors.New("post not found")

// MaxSlugLen bounds a slug; longer ones are never looked up.
const MaxSlugLen = 100

// wordsPerMinute is a common silent-reading speed for screen text.
const wordsPerMinute = 230

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
}

// Library is the set of posts in an fs.FS. It is safe for concurrent use.
type Library struct {
	fsys fs.FS
	live bool
	md   goldmark.Markdown

	mu     sync.Mutex
	cache  map[string]cached // by file name
	frozen bool              // not live and fully loaded: the cache is all there is
}

type cached struct {
	mod  time.Time
	size int64
	post *Post
	err  error
}

// Open parses every post in fsys and fails on the first broken one, naming
// the file and the reason. With live set, files are checked again on every
// request and re-parsed when they changed (for writing posts on disk); a post
// that breaks then yields its parse error instead of the post.
func Open(fsys fs.FS, live bool) (*Library, error) {
	l := &Library{
		fsys:  fsys,
		live:  live,
		cache: make(map[string]cached),
		md: goldmark.New(
			goldmark.WithExtensions(
				extension.GFM,
				meta.Meta,
				highlighting.NewHighlighting(
					highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
				),
			),
			goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		),
	}
	names, err := l.names()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no posts: the folder holds no *.md files")
	}
	for _, name := range names {
		if _, err := l.load(name); err != nil {
			return nil, err
		}
	}
	l.frozen = !live
	return l, nil
}

func (l *Library) names() ([]string, error) {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read posts: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".md" {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// List returns the published posts, newest first. In live mode a post that
// fails to parse is left out of the list (its own page shows the error).
func (l *Library) List() ([]*Post, error) {
	names, err := l.names()
	if err != nil {
		return nil, err
	}
	var list []*Post
	for _, name := range names {
		p, err := l.load(name)
		if err != nil || p.Draft {
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
// mode) the error that stops the post from parsing.
func (l *Library) Get(slug string) (*Post, error) {
	if !ValidSlug(slug) {
		return nil, ErrNotFound
	}
	p, err := l.load(slug + ".md")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if p.Draft {
		return nil, ErrNotFound
	}
	return p, nil
}

// load returns the parsed file, from the cache unless (in live mode) the file
// changed since it was parsed.
func (l *Library) load(name string) (*Post, error) {
	l.mu.Lock()
	c, ok := l.cache[name]
	frozen := l.frozen
	l.mu.Unlock()
	if frozen {
		if !ok {
			return nil, fs.ErrNotExist
		}
		return c.post, c.err
	}
	info, err := fs.Stat(l.fsys, name)
	if err != nil {
		return nil, err
	}
	if ok && c.mod.Equal(info.ModTime()) && c.size == info.Size() {
		return c.post, c.err
	}
	src, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	p, err := l.parse(name, src)
	l.mu.Lock()
	l.cache[name] = cached{mod: info.ModTime(), size: info.Size(), post: p, err: err}
	l.mu.Unlock()
	return p, err
}

func (l *Library) parse(name string, src []byte) (*Post, error) {
	slug := strings.TrimSuffix(name, ".md")
	if !ValidSlug(slug) {
		return nil, fmt.Errorf("%s: file name is not a valid slug (lowercase letters, digits and single dashes, at most %d)", name, MaxSlugLen)
	}
	if !bytes.HasPrefix(src, []byte("---\n")) && !bytes.HasPrefix(src, []byte("---\r\n")) {
		return nil, fmt.Errorf("%s: line 1: missing front matter (the file must start with a line of three dashes)", name)
	}
	var buf bytes.Buffer
	ctx := parser.NewContext()
	if err := l.md.Convert(src, &buf, parser.WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("%s: render markdown: %w", name, err)
	}
	fm, err := meta.TryGet(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: front matter: %w", name, err)
	}
	p := &Post{Slug: slug, HTML: template.HTML(buf.String())}
	if err := p.setFrontMatter(fm); err != nil {
		return nil, fmt.Errorf("%s: front matter: %w", name, err)
	}
	p.ReadingMinutes = readingMinutes(body(src))
	return p, nil
}

func (p *Post) setFrontMatter(fm map[string]any) error {
	for k, v := range fm {
		switch k {
		case "title", "summary":
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return fmt.Errorf("%q must be a non-empty string", k)
			}
			if k == "title" {
				p.Title = s
			} else {
				p.Summary = s
			}
		case "date":
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf(`"date" must be a date like 2026-11-27, got %v`, v)
			}
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return fmt.Errorf(`"date" must be a date like 2026-11-27, got %q`, s)
			}
			p.Date = d
		case "draft":
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf(`"draft" must be true or false, got %v`, v)
			}
			p.Draft = b
		default:
			return fmt.Errorf("unknown key %q (want title, date, summary, draft)", k)
		}
	}
	switch {
	case p.Title == "":
		return errors.New(`"title" is required`)
	case p.Date.IsZero():
		return errors.New(`"date" is required`)
	case p.Summary == "":
		return errors.New(`"summary" is required`)
	}
	return nil
}

// body is the source after its front matter.
func body(src []byte) []byte {
	rest := src[bytes.IndexByte(src, '\n')+1:]
	if i := bytes.Index(rest, []byte("\n---")); i >= 0 {
		return rest[i+4:]
	}
	return rest
}

func readingMinutes(text []byte) int {
	words := len(bytes.Fields(text))
	return max(1, int(math.Round(float64(words)/wordsPerMinute)))
}

// CodeCSS is the stylesheet for highlighted code: a light style, and a dark
// one under prefers-color-scheme: dark.
func CodeCSS() ([]byte, error) {
	var buf bytes.Buffer
	f := chromahtml.New(chromahtml.WithClasses(true))
	if err := f.WriteCSS(&buf, styles.Get("github")); err != nil {
		return nil, fmt.Errorf("write code css: %w", err)
	}
	buf.WriteString("@media (prefers-color-scheme: dark) {\n")
	if err := f.WriteCSS(&buf, styles.Get("github-dark")); err != nil {
		return nil, fmt.Errorf("write code css: %w", err)
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}
