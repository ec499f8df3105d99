package posts

import (
	"context"
	"fmt"
	"io/fs"
	"time"
)

// WatchEvery is how often Watch looks at the posts folder: a save is parsed
// within this, so a good version saved and then broken is kept as the last
// good one unless the two saves come closer together than this.
const WatchEvery = 250 * time.Millisecond

// Watch re-parses, in live mode, every file that changes, as soon as it
// changes (within WatchEvery) rather than when its page is next requested:
// the last good version is then the last good save, and a broken save is
// logged when it is made. It returns when ctx ends; without live mode at once.
// The folder is polled (a stat per file per turn, cheap for a blog's posts)
// rather than followed with inotify, which works the same on every system
// and every file system, network and container mounts included.
func (l *Library) Watch(ctx context.Context) {
	if !l.live {
		return
	}
	t := time.NewTicker(WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.scan()
		}
	}
}

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
	// One parse at a time, so that the watcher and a request that both see
	// a change cannot store their results in the wrong order (an older good
	// version after a newer one, or a broken one over the good one it
	// should keep).
	l.parseMu.Lock()
	defer l.parseMu.Unlock()
	l.mu.Lock()
	c, ok = l.cache[name]
	l.mu.Unlock()
	if info, err = fs.Stat(l.fsys, name); err != nil {
		return nil, err
	}
	if ok && c.mod.Equal(info.ModTime()) && c.size == info.Size() {
		return c.post, c.err // parsed while this waited
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
	switch {
	case err != nil && l.opened:
		log.Error("post does not parse", "file", name, "err", err, "serving", servingWhat(p))
	case l.opened:
		// The writer sees that a save was taken (and tests wait for it).
		log.Info("post parsed", "file", name, "title", p.Title, "draft", p.Draft)
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
