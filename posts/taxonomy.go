package posts

import (
	"slices"
	"strings"
)

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

// Tagged returns the published posts with this tag, newest first.
func (l *Library) Tagged(tag string) ([]*Post, error) {
	list, err := l.List()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(p *Post) bool { return !slices.Contains(p.Tags, tag) }), nil
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

// TagCount is a tag and how many published posts have it.
type TagCount struct {
	Tag   string
	Posts int
}

// Tags returns every tag of the published posts with its count, most used
// first, then by name.
func (l *Library) Tags() ([]TagCount, error) {
	list, err := l.List()
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int)
	for _, p := range list {
		for _, t := range p.Tags {
			counts[t]++
		}
	}
	out := make([]TagCount, 0, len(counts))
	for t, n := range counts {
		out = append(out, TagCount{Tag: t, Posts: n})
	}
	slices.SortFunc(out, func(a, b TagCount) int {
		if a.Posts != b.Posts {
			return b.Posts - a.Posts
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	return out, nil
}
