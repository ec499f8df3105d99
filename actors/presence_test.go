package actors

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/internal/testutil"
)

// client records what the engine tells one reader.
type client struct {
	mu      sync.Mutex
	you     readtag.Reader
	ghosts  map[string]readtag.Reader // the other readers this client knows
	welcome bool
	moves   int // Moves calls
	dropped string
	left    int // Leave calls
	crowds  int // Crowd calls
	total   int
	bands   []int
	last    []readtag.Move // the last moves given, from Moves or Crowd
}

func newClient() *client { return &client{ghosts: make(map[string]readtag.Reader)} }

func (c *client) Welcome(you readtag.Reader, others []readtag.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.you, c.welcome = you, true
	clear(c.ghosts)
	for _, r := range others {
		c.ghosts[r.ID] = r
	}
}

func (c *client) Join(r readtag.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ghosts[r.ID] = r
}

func (c *client) Leave(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.left++
	delete(c.ghosts, id)
}

func (c *client) leaves() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.left
}

func (c *client) Moves(moves []readtag.Move) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moves++
	c.last = moves
	for _, m := range moves {
		if r, ok := c.ghosts[m.ID]; ok {
			r.Position = m.Position
			c.ghosts[m.ID] = r
		}
	}
}

func (c *client) Crowd(u readtag.Crowd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crowds++
	c.total, c.bands = u.Total, u.Bands
	for _, id := range u.Leave {
		delete(c.ghosts, id)
	}
	for _, r := range u.Join {
		c.ghosts[r.ID] = r
	}
	if len(u.Moves) > 0 {
		c.last = u.Moves
	}
	for _, m := range u.Moves {
		if r, ok := c.ghosts[m.ID]; ok {
			r.Position = m.Position
			c.ghosts[m.ID] = r
		}
	}
}

func (c *client) Drop(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped == "" {
		c.dropped = reason
	}
}

// view is the client's ghosts as "id@position", sorted.
func (c *client) view() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v []string
	for _, r := range c.ghosts {
		v = append(v, fmt.Sprintf("%s@%g", r.ID, r.Position))
	}
	slices.Sort(v)
	return v
}

func (c *client) welcomed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// eventually is testutil.Eventually, short for the many waits here.
var eventually = testutil.Eventually

func wantView(t testing.TB, c *client, want ...string) {
	t.Helper()
	slices.Sort(want)
	if want == nil {
		want = []string{}
	}
	eventually(t, fmt.Sprintf("view %v", want), func() bool {
		v := c.view()
		if v == nil {
			v = []string{}
		}
		return slices.Equal(v, want)
	})
}

func newPresence(t testing.TB, cfg Config) (*Presence, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if cfg.Tick == 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p, logs
}

func mustJoin(t testing.TB, p *Presence, slug, id string) (*client, readtag.Session) {
	t.Helper()
	c := newClient()
	s := p.Join(slug, readtag.Reader{ID: id}, false, c)
	eventually(t, id+" welcomed", c.welcomed)
	return c, s
}

func TestWelcomeJoinMovesLeave(t *testing.T) {
	p, _ := newPresence(t, Config{})
	a, sa := mustJoin(t, p, "post", "a")
	a.mu.Lock()
	if a.you.ID != "a" || a.you.Color == "" || a.you.Position != 0 {
		t.Errorf("welcome you = %+v", a.you)
	}
	a.mu.Unlock()
	wantView(t, a)

	sa.Scroll(0.25)
	b, sb := mustJoin(t, p, "post", "b")
	// a's scroll and b's join reach the room by different paths, so b has
	// a's position from its welcome or from the next tick's moves.
	wantView(t, b, "a@0.25")
	wantView(t, a, "b@0") // a is told b joined

	c, _ := mustJoin(t, p, "other", "c")
	sb.Scroll(0.5)
	wantView(t, a, "b@0.5")
	wantView(t, c) // another post's reader sees nothing of this one

	sb.Leave()
	wantView(t, a)
	sa.Leave()
	// Left: monitor, rooms, and c's conn, room and reader.
	eventually(t, "the post's room to stop", func() bool { return p.Stats().Actors == 5 })
}

// A move handed to a client carries the reader's live position: a client
// that writes it later writes where the reader is then.
func TestMovesCarryTheLivePosition(t *testing.T) {
	p, _ := newPresence(t, Config{})
	a, _ := mustJoin(t, p, "post", "a")
	_, sb := mustJoin(t, p, "post", "b")
	wantView(t, a, "b@0")
	sb.Scroll(0.3)
	wantView(t, a, "b@0.3")
	a.mu.Lock()
	given := a.last
	a.mu.Unlock()
	if len(given) != 1 || given[0].ID != "b" || given[0].Live == nil {
		t.Fatalf("moves given: %+v, want b's with a live position", given)
	}
	sb.Scroll(0.6)
	eventually(t, "the given move to follow b to 0.6", func() bool { return given[0].Latest() == 0.6 })
	if given[0].Position != 0.3 {
		t.Errorf("the move's own Position changed to %g: moves are shared and must not be modified", given[0].Position)
	}
}

func TestDistinctColors(t *testing.T) {
	p, _ := newPresence(t, Config{})
	seen := map[string]string{}
	for i := range 12 {
		c, _ := mustJoin(t, p, "post", fmt.Sprint("r", i))
		c.mu.Lock()
		color := c.you.Color
		c.mu.Unlock()
		if other, dup := seen[color]; dup {
			t.Errorf("reader %d got %s, already %s's", i, color, other)
		}
		seen[color] = fmt.Sprint("r", i)
	}
}

func TestCoalescedMoves(t *testing.T) {
	const tick = 200 * time.Millisecond
	p, _ := newPresence(t, Config{Tick: tick})
	a, _ := mustJoin(t, p, "post", "a")
	_, sb := mustJoin(t, p, "post", "b")
	wantView(t, a, "b@0")
	start := time.Now()
	for i := 1; i <= 20; i++ {
		sb.Scroll(float64(i) / 100)
	}
	wantView(t, a, "b@0.2")
	elapsed := time.Since(start)
	a.mu.Lock()
	n := a.moves
	a.mu.Unlock()
	// The first scroll after a quiet tick goes out at once, later ones wait
	// for the next tick together: in a quick run 2 batches. On a loaded
	// machine the 20 scrolls may reach the room over several ticks, but
	// never more than one batch per tick of the time it all took.
	if limit := 1 + int(elapsed/tick); n > limit {
		t.Errorf("20 scrolls gave %d moves batches in %v, want at most %d (one per %v tick)", n, elapsed, limit, tick)
	}
	t.Logf("20 scrolls: %d moves batches in %v", n, elapsed)
}

func TestRoomStopsWhenEmpty(t *testing.T) {
	p, _ := newPresence(t, Config{})
	base := p.Stats().Actors // monitor and rooms
	var sessions []readtag.Session
	for i := range 5 {
		_, s := mustJoin(t, p, "post", fmt.Sprint("r", i))
		sessions = append(sessions, s)
	}
	// 5 conns + 1 room + 5 readers
	eventually(t, "11 more actors", func() bool { return p.Stats().Actors == base+11 })
	for _, s := range sessions {
		s.Leave()
	}
	eventually(t, "every actor but monitor and rooms to stop", func() bool { return p.Stats().Actors == base })
	// A reader arriving after the room stopped gets a fresh room.
	a, _ := mustJoin(t, p, "post", "late")
	wantView(t, a)
}

// panicky makes reader actors that panic on their first scroll message
// (see pokeReader).
func panicky(st *seat) actor.Producer {
	id := st.id
	return func() actor.Receiver {
		return actorFunc(func(c *actor.Context) {
			if _, ok := c.Message().(scroll); ok {
				panic("boom from " + id)
			}
		})
	}
}

// pokeReader sends a session's reader actor a scroll as a message, the
// way a scroll made before the welcome reaches it (a welcomed reader's
// scrolls go to its seat, which never calls the reader actor).
func pokeReader(t *testing.T, p *Presence, s readtag.Session, position float64) {
	t.Helper()
	sess := s.(*session)
	eventually(t, "the session to have its seat", func() bool { return sess.seat.Load() != nil })
	p.sys.engine.Send(sess.seat.Load().pid, scroll{position: position})
}

type actorFunc func(*actor.Context)

func (f actorFunc) Receive(c *actor.Context) { f(c) }

func TestPanickingReaderLeaves(t *testing.T) {
	p, logs := newPresence(t, Config{})
	a, _ := mustJoin(t, p, "post", "a")
	p.sys.newReader = panicky
	b, sb := mustJoin(t, p, "post", "b")
	wantView(t, a, "b@0")
	pokeReader(t, p, sb, 0.5)
	wantView(t, a) // b's reader failed: b leaves a's screen
	eventually(t, "b dropped", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.dropped != ""
	})
	if !strings.Contains(logs.String(), `level=ERROR msg="actor panicked" actor=rooms/local/room/post/reader/b type=actors.scroll reason="boom from b"`) {
		t.Errorf("log lacks the panic line with its reason:\n%s", logs)
	}
}

func TestSurvivesRepeatedPanics(t *testing.T) {
	p, _ := newPresence(t, Config{})
	a, sa := mustJoin(t, p, "post", "a")
	p.sys.newReader = panicky
	for i := range 10 { // well past Hollywood's MaxRestarts of 3
		_, s := mustJoin(t, p, "post", fmt.Sprint("p", i))
		pokeReader(t, p, s, 0.5)
	}
	eventually(t, "10 panics", func() bool { return p.Stats().Panics == 10 })
	wantView(t, a)
	// The room and the rest of the engine still work.
	p.sys.newReader = newReader
	b, sb := mustJoin(t, p, "post", "b")
	sb.Scroll(0.75)
	sa.Scroll(0.5)
	wantView(t, a, "b@0.75")
	wantView(t, b, "a@0.5")
}

func TestParseTrace(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Trace
		err  string
	}{
		{in: "", want: Trace{}},
		{in: "all", want: Trace{}},
		{in: "room,reader", want: Trace{Kinds: []string{"room", "reader"}}},
		{in: "conn, post=hello-world", want: Trace{Kinds: []string{"conn"}, Post: "hello-world"}},
		{in: "rom", err: `unknown actor kind "rom"`},
		{in: "post=../x", err: "not a post slug"},
		{in: "room,post=blog.example.com/posts/hello", want: Trace{Kinds: []string{"room"}, Post: "blog.example.com/posts/hello"}},
		{in: "post=blog.example.com/#chapter-1", want: Trace{Post: "blog.example.com/#chapter-1"}},
		{in: "post=blog.example.com/posts/hello/", err: "or an embedded page's room key"},
		{in: "post=a,post=b", err: "only one post"},
	} {
		got, err := ParseTrace(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTrace(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.Kinds, tc.want.Kinds) || got.Post != tc.want.Post {
			t.Errorf("ParseTrace(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
