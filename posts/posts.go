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
	"log/slog"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	meta "github.com/yuin/goldmark-meta"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// ErrNotFound is returned for a slug that names no published post.
var ErrNotFound = errors.New("post not found")

// MaxSlugLen bounds a slug; longer ones are never looked up.
const MaxSlugLen = 100

// wordsPerMinute is a common silent-reading speed for screen text.
const wordsPerMinute = 230

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

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

// MaxTags bounds a post's tags; maxTagLen one tag's length.
const (
	MaxTags   = 12
	maxTagLen = 32
)

// ValidTag reports whether s can be a tag: lowercase letters, digits and
// single dashes, at most 32 bytes (it is part of a URL, /tags/<tag>).
func ValidTag(s string) bool {
	return len(s) <= maxTagLen && slugRE.MatchString(s)
}

// Library is the set of posts in an fs.FS. It is safe for concurrent use.
type Library struct {
	fsys fs.FS
	live bool
	md   goldmark.Markdown
	log  *slog.Logger

	mu     sync.Mutex
	cache  map[string]cached // by file name
	frozen bool              // not live and fully loaded: the cache is all there is
	opened bool              // Open has returned: parse errors are logged, not returned to it
}

type cached struct {
	mod  time.Time
	size int64
	post *Post // the file as parsed, or (with err set) its last good version
	err  error // why the file as it is now does not parse
}

// Open parses every post in fsys and fails on the first broken one, naming
// the file and the reason. With live set, files are checked again on every
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

// Tagged returns the published posts with this tag, newest first.
func (l *Library) Tagged(tag string) ([]*Post, error) {
	list, err := l.List()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(p *Post) bool { return !slices.Contains(p.Tags, tag) }), nil
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

// scan loads every file in live mode, so that one whose name can never be
// a slug ("My Post.md") is reported when its post is not found.
func (l *Library) scan() {
	if !l.live {
		return
	}
	names, _ := l.names()
	for _, name := range names {
		_, _ = l.load(name)
	}
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
	if err != nil && ok {
		p = c.post // keep serving the last good version
	}
	l.cache[name] = cached{mod: info.ModTime(), size: info.Size(), post: p, err: err}
	log := l.log
	l.mu.Unlock()
	if err != nil && l.opened {
		log.Error("post does not parse", "file", name, "err", err, "serving", servingWhat(p))
	}
	return p, err
}

func servingWhat(p *Post) string {
	if p == nil {
		return "nothing: the post is not listed and its page shows the error"
	}
	return "its last good version"
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
	doc := l.md.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	if err := l.md.Renderer().Render(&buf, src, doc); err != nil {
		return nil, fmt.Errorf("%s: render markdown: %w", name, err)
	}
	fm, err := meta.TryGet(ctx)
	if err != nil {
		// YAML counts lines from the front matter's first; the file's is
		// one more (the opening dashes).
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			return nil, fmt.Errorf("%s: line %d: front matter: %s", name, n+1, m[2])
		}
		return nil, fmt.Errorf("%s: front matter: %w", name, err)
	}
	p := &Post{Slug: slug, HTML: template.HTML(buf.String())}
	toc, err := p.setFrontMatter(fm)
	if err != nil {
		return nil, fmt.Errorf("%s: %sfront matter: %w", name, keyLine(src, err), err)
	}
	if toc {
		p.TOC = headings(doc, src)
	}
	p.ReadingMinutes = readingMinutes(body(src))
	return p, nil
}

// fmError is a bad front matter value, naming its key so that the error can
// say on which line it is.
type fmError struct {
	key string
	msg string
}

func (e *fmError) Error() string { return e.msg }

func fmErrorf(key, format string, args ...any) error {
	return &fmError{key: key, msg: fmt.Sprintf(format, args...)}
}

// keyLine is "line N: " for the front matter line of the key err names, or "".
func keyLine(src []byte, err error) string {
	var fe *fmError
	if !errors.As(err, &fe) {
		return ""
	}
	for i, line := range strings.Split(string(src), "\n") {
		if i > 0 && strings.TrimRight(line, "\r") == "---" {
			break
		}
		if strings.HasPrefix(line, fe.key+":") {
			return fmt.Sprintf("line %d: ", i+1)
		}
	}
	return ""
}

// headings lists the document's h2 and h3 headings with their ids.
func headings(doc ast.Node, src []byte) []Heading {
	var out []Heading
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		if id, ok := h.AttributeString("id"); ok && (h.Level == 2 || h.Level == 3) {
			idb, _ := id.([]byte)
			out = append(out, Heading{Level: h.Level, ID: string(idb), Text: plainText(h, src)})
		}
		return ast.WalkSkipChildren, nil
	})
	return out
}

// plainText is a node's text without markup (code spans keep their text).
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() {
				b.WriteByte(' ')
			}
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// setFrontMatter applies the front matter and reports whether it asks for a
// table of contents.
func (p *Post) setFrontMatter(fm map[string]any) (toc bool, err error) {
	for k, v := range fm {
		switch k {
		case "title", "summary":
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return false, fmErrorf(k, "%q must be a non-empty string", k)
			}
			if k == "title" {
				p.Title = s
			} else {
				p.Summary = s
			}
		case "date":
			s, ok := v.(string)
			if !ok {
				return false, fmErrorf(k, `"date" must be a date like 2026-11-27, got %v`, v)
			}
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return false, fmErrorf(k, `"date" must be a date like 2026-11-27, got %q`, s)
			}
			p.Date = d
		case "draft":
			b, ok := v.(bool)
			if !ok {
				return false, fmErrorf(k, `"draft" must be true or false, got %v`, v)
			}
			p.Draft = b
		case "toc":
			b, ok := v.(bool)
			if !ok {
				return false, fmErrorf(k, `"toc" must be true or false, got %v`, v)
			}
			toc = b
		case "tags":
			if err := p.setTags(v); err != nil {
				return false, err
			}
		default:
			return false, fmErrorf(k, "unknown key %q (want title, date, summary, draft, tags, toc)", k)
		}
	}
	switch {
	case p.Title == "":
		return false, errors.New(`"title" is required`)
	case p.Date.IsZero():
		return false, errors.New(`"date" is required`)
	case p.Summary == "":
		return false, errors.New(`"summary" is required`)
	}
	return toc, nil
}

// setTags takes a YAML list of tags (tags: [go, actors]).
func (p *Post) setTags(v any) error {
	list, ok := v.([]any)
	if !ok {
		return fmErrorf("tags", `"tags" must be a list like [go, actors], got %v`, v)
	}
	if len(list) > MaxTags {
		return fmErrorf("tags", `"tags" has %d tags, at most %d`, len(list), MaxTags)
	}
	for _, item := range list {
		tag, ok := item.(string)
		if !ok || !ValidTag(tag) {
			return fmErrorf("tags", `tag %v: want lowercase letters, digits and single dashes, at most %d bytes`, item, maxTagLen)
		}
		if slices.Contains(p.Tags, tag) {
			return fmErrorf("tags", "tag %q appears twice", tag)
		}
		p.Tags = append(p.Tags, tag)
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
