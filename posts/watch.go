package posts

import (
	"fmt"
	"io/fs"
	"time"
)

// cached is a file as last parsed, with the modification time and size
// that say whether it changed since.
type cached struct {
	mod  time.Time
	size int64
	post *Post // the file as parsed, or (with err set) its last good version
	err  error // why the file as it is now does not parse
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
