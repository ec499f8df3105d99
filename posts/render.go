package posts

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	meta "github.com/yuin/goldmark-meta"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// newMarkdown is the Markdown of posts: GitHub's flavour (tables,
// strikethrough, autolinks, task lists), YAML front matter, code highlighted
// with classes (CodeCSS styles them) and an id on every heading, for the
// table of contents.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.GFM,
			meta.Meta,
			highlighting.NewHighlighting(
				highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
			),
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
}

// wordsPerMinute is a common silent-reading speed for screen text.
const wordsPerMinute = 230

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
