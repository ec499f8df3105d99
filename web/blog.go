package web

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/readtag/readtag/posts"
)

// Blog is what the author says about their blog (--site-title,
// --site-author, --site-description, --site-image). The feed, the page
// titles, the header and the link previews (OpenGraph, Twitter) use it.
type Blog struct {
	// Title names the blog. Zero value means "readtag".
	Title string
	// Author is the feed's author and the pages' meta author. Zero value
	// means Title.
	Author string
	// Description is the header's tagline, the feed's subtitle and the
	// description of pages that are not a post. Zero value means
	// "read along with everyone else".
	Description string
	// Image is the link-preview picture of pages whose post names none: an
	// absolute http(s) URL or a path on this site (posts.CheckImage).
	// Zero value: none.
	Image string
}

// Bounds of the blog's settings, in characters: a title or name longer
// than a line is a mistake, and a description is a sentence or two.
const (
	maxBlogTitle       = 100
	maxBlogDescription = 300
)

// CheckBlog checks the blog's settings and fills in the defaults. Text may
// hold any printable characters (HTML among them: pages and the feed escape
// it); control characters (text direction overrides too), invalid UTF-8,
// blank values and values over the bounds are refused with the setting's
// name, as is an image that is not a plain http(s) URL or a path on this
// site.
func CheckBlog(b Blog) (Blog, error) {
	for _, f := range []struct {
		flag string
		v    *string
		max  int
	}{
		{"--site-title", &b.Title, maxBlogTitle},
		{"--site-author", &b.Author, maxBlogTitle},
		{"--site-description", &b.Description, maxBlogDescription},
	} {
		if *f.v == "" {
			continue
		}
		switch v := *f.v; {
		case !utf8.ValidString(v):
			return Blog{}, fmt.Errorf("%s: not valid UTF-8", f.flag)
		case strings.IndexFunc(v, unsafeRune) >= 0:
			return Blog{}, fmt.Errorf("%s %.40q: control characters (new lines, tabs, text direction overrides, ...) are not allowed", f.flag, v)
		case strings.TrimSpace(v) == "":
			return Blog{}, fmt.Errorf("%s: blank; leave it unset for the default", f.flag)
		case utf8.RuneCountInString(v) > f.max:
			return Blog{}, fmt.Errorf("%s %.40q...: %d characters, at most %d", f.flag, v, utf8.RuneCountInString(v), f.max)
		}
		*f.v = strings.TrimSpace(*f.v)
	}
	if b.Image != "" {
		if err := posts.CheckImage(b.Image); err != nil {
			return Blog{}, fmt.Errorf("--site-image: %w", err)
		}
	}
	setDefault(&b.Title, "readtag")
	setDefault(&b.Author, b.Title)
	setDefault(&b.Description, "read along with everyone else")
	return b, nil
}

// unsafeRune is a control character, or one that turns the text around it
// (a right-to-left override can make a title read as something else).
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// absolute makes an image URL absolute: a path on this site is joined to
// base, the site's root.
func absolute(base, image string) string {
	if strings.HasPrefix(image, "/") {
		return base + image
	}
	return image
}
