package actors

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/anthdm/hollywood/actor"
)

// Trace narrows message tracing (which happens only when the logger is at
// debug level). The zero value traces every message of every actor.
type Trace struct {
	// Kinds limits tracing to actors of these kinds (see Kinds). Empty means all.
	Kinds []string
	// Post limits tracing to messages about this post. Empty means all.
	Post string
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// ParseTrace reads a --trace value: a comma-separated list of actor kinds
// and at most one post=SLUG, e.g. "room,reader" or "conn,post=hello". An
// empty value or "all" traces everything.
func ParseTrace(s string) (Trace, error) {
	var t Trace
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return t, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if slug, ok := strings.CutPrefix(item, "post="); ok {
			if t.Post != "" {
				return Trace{}, fmt.Errorf("trace %q: only one post=SLUG is allowed", s)
			}
			t.Post = slug
			continue
		}
		t.Kinds = append(t.Kinds, item)
	}
	return t, t.validate()
}

func (t Trace) validate() error {
	for _, k := range t.Kinds {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("trace: unknown actor kind %q (want one of %s, or post=SLUG)", k, strings.Join(Kinds, ", "))
		}
	}
	if t.Post != "" && !slugRE.MatchString(t.Post) {
		return fmt.Errorf("trace: %q is not a post slug (lowercase letters, digits and single dashes)", t.Post)
	}
	return nil
}

// kind reports whether actors of kind k are traced at all.
func (t Trace) kind(k string) bool {
	return len(t.Kinds) == 0 || slices.Contains(t.Kinds, k)
}

// tags are what an actor itself stands for in the trace: the post it serves
// and, for a connection or reader actor, its reader.
type tags struct {
	post   string
	reader string
}

// traced messages name the reader and post they concern and summarise their
// payload as slog key/value pairs (counts and positions, never page text).
type traced interface {
	traceInfo() (reader, post string, summary []any)
}

func traceOf(msg any) (reader, post string, summary []any) {
	if t, ok := msg.(traced); ok {
		return t.traceInfo()
	}
	switch m := msg.(type) {
	case actor.ActorStoppedEvent:
		return readerOf(m.PID), "", []any{"actor", m.PID.ID}
	case actor.ActorStartedEvent:
		return readerOf(m.PID), "", []any{"actor", m.PID.ID}
	case actor.ActorInitializedEvent:
		return readerOf(m.PID), "", []any{"actor", m.PID.ID}
	case actor.DeadLetterEvent:
		return readerOf(m.Target), "", []any{"target", pidString(m.Target), "message", typeName(m.Message)}
	}
	return "", "", nil
}

// readerOf is the reader id in a conn or reader actor's PID, else "".
func readerOf(pid *actor.PID) string {
	if pid == nil {
		return ""
	}
	id := pid.ID
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return ""
	}
	kind := id[:i]
	if kind == kindConn || strings.HasSuffix(kind, "/"+kindReader) {
		return id[i+1:]
	}
	return ""
}

// tracer logs one debug line per message the actor receives, before it
// handles it: to, from, type, reader, post and a summary. It is installed
// only when the logger is at debug level and the actor's kind is traced, so
// with tracing off the message path does not pay for it at all.
func (s *system) tracer(kind string, who tags) func(*actor.Context) {
	filterPost := s.cfg.Trace.Post
	return func(c *actor.Context) {
		msg := c.Message()
		reader, post, summary := traceOf(msg)
		if reader == "" {
			reader = who.reader
		}
		if post == "" {
			post = who.post
		}
		if filterPost != "" && post != filterPost {
			return
		}
		from := c.Sender()
		switch msg.(type) {
		case actor.Initialized, actor.Started, actor.Stopped:
			from = nil // Hollywood leaves the previous message's sender here
		}
		attrs := make([]any, 0, 12+len(summary))
		attrs = append(attrs,
			"to", c.PID().String(),
			"from", pidString(from),
			"type", typeName(msg),
			"kind", kind,
			"reader", reader,
			"post", post)
		s.log.Debug("actor message", append(attrs, summary...)...)
	}
}
