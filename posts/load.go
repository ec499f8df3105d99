package posts

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	meta "github.com/yuin/goldmark-meta"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

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

func (l *Library) parse(name string, src []byte) (*Post, error) {
	slug := strings.TrimSuffix(name, ".md")
	if !ValidSlug(slug) {
		return nil, fmt.Errorf("%s: file name is not a valid slug (lowercase letters, digits and single dashes, at most %d)", name, MaxSlugLen)
	}
	if !bytes.HasPrefix(src, []byte("---\n")) && !bytes.HasPrefix(src, []byte("---\r\n")) {
		return nil, fmt.Errorf("%s: line 1: missing front matter (the file must start with a line of three dashes)", name)
	}
	if !frontMatterClosed(src) {
		// goldmark-meta would read the whole file as YAML and complain
		// about some line of the article instead.
		return nil, fmt.Errorf("%s: front matter starting on line 1 is not closed by ---", name)
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

// frontMatterClosed reports whether a line after the first is a separator
// as goldmark-meta reads one: only dashes, spaces around them allowed.
func frontMatterClosed(src []byte) bool {
	lines := bytes.Split(src, []byte("\n"))
	for _, line := range lines[1:] {
		if line = bytes.TrimSpace(line); len(line) > 0 && len(bytes.Trim(line, "-")) == 0 {
			return true
		}
	}
	return false
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
		case "image":
			s, ok := v.(string)
			if !ok {
				return false, fmErrorf(k, `"image" must be a URL like https://example.com/a.png or /images/a.png, got %v`, v)
			}
			if err := CheckImage(s); err != nil {
				return false, fmErrorf(k, `"image": %v`, err)
			}
			p.Image = s
		default:
			return false, fmErrorf(k, "unknown key %q (want title, date, summary, draft, tags, toc, image)", k)
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

// body is the source after its front matter.
func body(src []byte) []byte {
	rest := src[bytes.IndexByte(src, '\n')+1:]
	if i := bytes.Index(rest, []byte("\n---")); i >= 0 {
		return rest[i+4:]
	}
	return rest
}
