// Package ratelog keeps a flood out of the log. Every line that a remote
// party can trigger (a peer's message, a dead letter, a refused socket)
// goes through a Logger, which logs the first line of an episode, counts the
// lines like it that follow, and writes one summary line with the count at
// the end of each interval in which there were any, with the fields of the
// last line counted and when it came (latest_at). An episode ends after an
// interval with none; the next line starts a new one.
//
// Measured before it (issue 20): a peer flapping its incarnation wrote
// 4.24 M lines (426 MB) in 10 s, and a snapshot flood 200,001 dead-letter
// warnings in 2 s. With it, each kind of line costs at most one line plus
// one summary per interval, whatever the rate.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Interval is the default episode interval.
const Interval = 10 * time.Second

// maxKeys bounds the episodes a Logger tracks. Keys are chosen by callers
// from bounded sets (a message, a configured peer, a Go type), so this is
// only a backstop: beyond it a line is counted under its message alone.
const maxKeys = 256

// Logger rate-limits lines per key. The zero value is not usable; use New.
type Logger struct {
	log      *slog.Logger
	interval time.Duration

	mu       sync.Mutex
	episodes map[string]*episode
}

type episode struct {
	level slog.Level
	msg   string
	args  []any     // of the last line counted
	at    time.Time // when it was counted
	count int       // lines counted in this interval
}

// New returns a Logger writing to log. Zero interval means Interval.
func New(log *slog.Logger, interval time.Duration) *Logger {
	if interval <= 0 {
		interval = Interval
	}
	return &Logger{log: log, interval: interval, episodes: make(map[string]*episode)}
}

// Log writes msg with args at level if no episode of key is under way, and
// otherwise counts it. An empty key means msg.
func (l *Logger) Log(level slog.Level, key, msg string, args ...any) {
	if key == "" {
		key = msg
	}
	l.mu.Lock()
	ep, ok := l.episodes[key]
	if !ok && len(l.episodes) >= maxKeys {
		key = msg
		ep, ok = l.episodes[key]
	}
	if ok {
		ep.count++
		ep.level, ep.msg, ep.args, ep.at = level, msg, args, time.Now()
		l.mu.Unlock()
		return
	}
	l.episodes[key] = &episode{level: level, msg: msg}
	l.mu.Unlock()
	time.AfterFunc(l.interval, func() { l.tick(key) })
	l.log.Log(context.Background(), level, msg, args...)
}

// Warn is Log at slog.LevelWarn.
func (l *Logger) Warn(key, msg string, args ...any) { l.Log(slog.LevelWarn, key, msg, args...) }

// Info is Log at slog.LevelInfo.
func (l *Logger) Info(key, msg string, args ...any) { l.Log(slog.LevelInfo, key, msg, args...) }

// tick ends an interval of key's episode: it writes the summary if lines
// were counted and carries on, or ends the episode.
func (l *Logger) tick(key string) {
	l.mu.Lock()
	ep := l.episodes[key]
	if ep == nil {
		l.mu.Unlock()
		return
	}
	if ep.count == 0 {
		delete(l.episodes, key)
		l.mu.Unlock()
		return
	}
	n, level, msg, args, at := ep.count, ep.level, ep.msg, ep.args, ep.at
	ep.count, ep.args = 0, nil
	l.mu.Unlock()
	time.AfterFunc(l.interval, func() { l.tick(key) })
	// The fields are the last counted line's, which may be most of an
	// interval old by now: latest_at says when it came.
	summary := append([]any{"more_like_this", n, "in", l.interval.String(), "latest_at", at}, args...)
	l.log.Log(context.Background(), level, msg, summary...)
}
