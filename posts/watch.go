package posts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"
)

// WatchEvery is how often Watch looks at the posts folder: a save is parsed
// within this, so a good version saved and then broken is kept as the last
// good one unless the two saves come closer together than this.
const WatchEvery = 250 * time.Millisecond

// watchBatch is how many files a turn of Watch looks at besides the hot ones
// (below): a folder of up to watchBatch posts is looked at whole every
// WatchEvery; a bigger one in turns, watchBatch files at a time, so that
// the watcher costs at most watchBatch stats per WatchEvery whatever the
// folder holds (1,000 posts: each file every 5 s). Looking at every file of
// 1,000 every 250 ms was 4,000 stats and 1.2 MB of garbage a second, enough
// to raise an idle reader's share of the server's memory from 12.5 to 15 KiB
// (docs/performance.md, issue 24).
const watchBatch = 50

// hotFor is how long a file that changed stays hot: looked at every turn,
// as a post being written is, however big the folder.
const hotFor = 10 * time.Minute

// maxHot is how many files are hot at most: the newest saves win. A deploy
// writes every file at once (a git clone, a copied image), and with every
// one of 1,000 posts hot the watcher was back to 4,000 stats a second for
// ten minutes, and an idle reader's memory 2 KiB heavier (docs/performance.md,
// issue 24).
const maxHot = watchBatch

// Watch re-parses, in live mode, every file that changes, as soon as it
// changes rather than when its page is next requested: the last good
// version is then the last good save, and a broken save is logged when it
// is made. A file that changed in the last hotFor is looked at every
// WatchEvery; the others, and new files, within WatchEvery in a folder of up
// to watchBatch posts and within WatchEvery per watchBatch posts in a bigger
// one. It returns when ctx ends; without live mode at once. The folder is
// polled (a stat per file looked at) rather than followed with inotify,
// which works the same on every system and every file system, network and
// container mounts included.
func (l *Library) Watch(ctx context.Context) {
	if !l.live {
		return
	}
	t := time.NewTicker(WatchEvery)
	defer t.Stop()
	w := &watcher{hot: make(map[string]time.Time)}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.watchTurn(w, now)
		}
	}
}

// watcher is where Watch is in the folder.
type watcher struct {
	names []string             // the folder's listing for this round
	next  int                  // the first of names the next turn looks at
	hot   map[string]time.Time // files seen changing (when) or saved lately (the save's time); at most maxHot
}

// watchTurn looks at the next watchBatch files of the round (listing the
// folder again when a round ends) and at every hot file.
func (l *Library) watchTurn(w *watcher, now time.Time) {
	if w.next >= len(w.names) {
		w.names, _ = l.names()
		w.next = 0
	}
	end := min(len(w.names), w.next+watchBatch)
	seen := w.names[w.next:end]
	for _, name := range seen {
		l.watchFile(w, name, now)
	}
	w.next = end
	for name, at := range w.hot {
		switch {
		case now.Sub(at) > hotFor:
			delete(w.hot, name)
		case !slices.Contains(seen, name):
			l.watchFile(w, name, now)
		}
	}
}

// watchFile loads name (parsing it if it changed), and keeps it hot if it
// changed, or was saved within hotFor (a request may have parsed the save
// first: the author reloading the page).
func (l *Library) watchFile(w *watcher, name string, now time.Time) {
	before, _ := l.entry(name)
	if _, err := l.load(name); errors.Is(err, fs.ErrNotExist) {
		delete(w.hot, name)
		return
	}
	after, ok := l.entry(name)
	switch {
	case !ok:
	case !after.mod.Equal(before.mod) || after.size != before.size:
		w.heat(name, now)
	case now.Sub(after.mod) < hotFor:
		w.heat(name, after.mod)
	}
}

// heat makes name hot as of at (hot files go hotFor after it), or keeps
// it hot as of a later time it already has. When maxHot files are hot, it
// takes the place of the one hot as of the earliest time, if that is
// earlier than at; otherwise name stays a file like the others.
func (w *watcher) heat(name string, at time.Time) {
	if old, ok := w.hot[name]; ok {
		if at.After(old) {
			w.hot[name] = at
		}
		return
	}
	if len(w.hot) >= maxHot {
		coldest, cold := "", at
		for n, t := range w.hot {
			if t.Before(cold) {
				coldest, cold = n, t
			}
		}
		if coldest == "" {
			return
		}
		delete(w.hot, coldest)
	}
	w.hot[name] = at
}

// entry is name's cache entry.
func (l *Library) entry(name string) (cached, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cache[name]
	return c, ok
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
// a slug ("My Post.md") is reported when its post is not found. A page that
// is not found costs no more than the watcher does: one scan per
// WatchEvery per watchBatch posts, so a flood of 404s cannot make the
// server stat its whole folder for each (1,000 posts: 1,000 stats a
// request before).
func (l *Library) scan() {
	if !l.live {
		return
	}
	l.mu.Lock()
	every := WatchEvery * time.Duration(1+len(l.cache)/watchBatch)
	now := time.Now()
	if now.Sub(l.scanned) < every {
		l.mu.Unlock()
		return
	}
	l.scanned = now
	l.mu.Unlock()
	names, _ := l.names()
	for _, name := range names {
		_, _ = l.load(name)
	}
}
