package actors

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/pagekey"
)

// Trace narrows message tracing (which happens only when the logger is at
// debug level). The zero value traces every message of every actor.
type Trace struct {
	// Kinds limits tracing to actors of these kinds (see Kinds). Empty means all.
	Kinds []string
	// Post limits tracing to messages about this post, or this embedded
	// page's room ("blog.example.com/posts/hello"). Empty means all.
	Post string
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// ParseTrace reads a --trace value: a comma-separated list of actor kinds
// and at most one post=SLUG (or post=ROOM-KEY of an embedded page, one
// without a comma), e.g. "room,reader" or "conn,post=hello". An empty value
// or "all" traces everything.
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
	if t.Post != "" && !pagekey.ValidRoomKey(t.Post) {
		return fmt.Errorf("trace: %q is not a post slug (lowercase letters, digits and single dashes) or an embedded page's room key (blog.example.com/posts/hello)", t.Post)
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
	case *clusterpb.Envelope:
		return envelopeTrace(m)
	case cluster.MemberJoinEvent:
		return "", "", []any{"member", m.Member.GetID(), "addr", m.Member.GetHost()}
	case cluster.MemberLeaveEvent:
		return "", "", []any{"member", m.Member.GetID(), "addr", m.Member.GetHost()}
	case *cluster.Members:
		ids := make([]string, 0, len(m.Members))
		for _, mem := range m.Members {
			ids = append(ids, mem.GetID())
		}
		return "", "", []any{"members", ids}
	}
	return "", "", nil
}

// envelopeTrace summarises a message from another node: which node, what
// kind, and the readers it is about (so a grep for a reader id finds its
// life on every node).
func envelopeTrace(m *clusterpb.Envelope) (reader, post string, summary []any) {
	summary = []any{"node", m.GetNode()}
	switch b := m.GetBody().(type) {
	case *clusterpb.Envelope_Heartbeat:
		summary = append(summary, "body", "heartbeat", "seq", b.Heartbeat.GetSeq())
	case *clusterpb.Envelope_SyncRequest:
		summary = append(summary, "body", "sync_request")
	case *clusterpb.Envelope_Snapshot:
		n := 0
		for _, pr := range b.Snapshot.GetPosts() {
			n += len(pr.GetReaders())
		}
		summary = append(summary, "body", "snapshot", "seq", b.Snapshot.GetSeq(), "readers", n)
	case *clusterpb.Envelope_Deltas:
		ds := b.Deltas.GetDeltas()
		ids := make([]string, 0, min(len(ds), 8))
		for _, d := range ds[:min(len(ds), 8)] {
			ids = append(ids, d.GetReader().GetId())
		}
		if len(ds) == 1 {
			reader, post = ds[0].GetReader().GetId(), ds[0].GetPost()
			summary = append(summary, "delta", ds[0].GetKind().String(), "position", ds[0].GetReader().GetPosition())
		}
		summary = append(summary, "body", "deltas", "seq", b.Deltas.GetSeq(), "count", len(ds), "readers", ids)
	default:
		summary = append(summary, "body", "unknown")
	}
	return reader, post, summary
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

// tracesScrolls says whether the scrolls of a room's readers are traced:
// then each goes to the reader actor as a message (see seat), which the
// reader's or the room's trace shows as before.
func (s *system) tracesScrolls(post string) bool {
	return s.trace && (s.cfg.Trace.kind(kindReader) || s.cfg.Trace.kind(kindRoom)) &&
		(s.cfg.Trace.Post == "" || s.cfg.Trace.Post == post)
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

// socketTrace logs what a room hands one of its readers' sockets itself
// (welcome, join, leave, moves, crowd, drop: the room writes to the
// socket's Client directly, not through the conn actor), one debug line per
// call, so that a grep for a reader's id still shows every update it was
// sent. Installed only at debug level when rooms or conns are traced.
type socketTrace func(c *actor.Context, m *member, frame string, summary ...any)

func (s *system) socketTracer(post string) socketTrace {
	if !s.trace || !(s.cfg.Trace.kind(kindRoom) || s.cfg.Trace.kind(kindConn)) {
		return nil
	}
	if s.cfg.Trace.Post != "" && s.cfg.Trace.Post != post {
		return nil
	}
	return func(c *actor.Context, m *member, frame string, summary ...any) {
		attrs := make([]any, 0, 10+len(summary))
		attrs = append(attrs,
			"to", m.conn.String(),
			"from", c.PID().String(),
			"type", frame,
			"reader", m.reader.ID,
			"post", post)
		s.log.Debug("to socket", append(attrs, summary...)...)
	}
}
