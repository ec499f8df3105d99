// Package client is a Go client for readtag's WebSocket protocol v1
// (docs/protocol.md), for tests: a reader that keeps the room as the frames
// describe it (you, ghosts, crowd), can wait for a frame or a state, and can
// send what a browser would not (raw text or binary frames, a dropped
// connection). The tests of web and cmd/readtag use it; it knows only the
// wire protocol, nothing of the server's insides.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Reader is a reader as the protocol describes one.
type Reader struct {
	ID       string  `json:"id"`
	Color    string  `json:"color"`
	Name     string  `json:"name,omitempty"`
	Position float64 `json:"position"`
}

// Move is one entry of a moves frame.
type Move struct {
	ID       string  `json:"id"`
	Position float64 `json:"position"`
}

// Frame is any server frame; Type says which fields are set.
type Frame struct {
	Type    string   `json:"type"`
	You     *Reader  `json:"you,omitempty"`
	Readers []Reader `json:"readers,omitempty"`
	Reader  *Reader  `json:"reader,omitempty"`
	ID      string   `json:"id,omitempty"`
	Moves   []Move   `json:"moves,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Resume is the welcome's or a resume frame's token.
	Resume string `json:"resume,omitempty"`
	// crowd frames
	Total int      `json:"total,omitempty"`
	Bands []int    `json:"bands,omitempty"`
	Leave []string `json:"leave,omitempty"`
	Join  []Reader `json:"join,omitempty"`
	// Received is when the frame arrived; Raw is its text.
	Received time.Time `json:"-"`
	Raw      []byte    `json:"-"`
}

// Conn is one reader's connection. It reads frames in the background, keeps
// the view a browser would draw (the other readers and their positions) and
// records every frame.
type Conn struct {
	ws *websocket.Conn

	wmu sync.Mutex // gorilla allows one writer at a time

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every frame
	frames  []Frame
	keep    bool
	you     Reader
	ghosts  map[string]Reader
	closed  error // why reading stopped
	total   int   // from crowd frames
	bands   []int
	// OnFrame, if set before frames arrive, is called for every frame.
	onFrame func(Frame)
	resume  string // the latest resume token
}

// Options configure Dial.
type Options struct {
	// Origin is sent as the Origin header; empty sends none.
	Origin string
	// KeepFrames records every frame for Frames and WaitFrame. Zero value
	// keeps none (a load generator with thousands of clients wants that).
	KeepFrames bool
	// OnFrame is called from the reading goroutine for every frame.
	OnFrame func(Frame)
	// Hidden asks not to be shown to other readers (?hidden=1).
	Hidden bool
	// Resume is a resume token from an earlier connection (?resume=), to
	// come back as the same reader.
	Resume string
}

// URL is the WebSocket URL of a post on a server at base ("http://host:port").
func URL(base, slug string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws/posts/" + slug
}

// EmbedURL is the WebSocket URL of /ws/embed on a server at base for the
// page at page (an absolute URL), with an explicit id if id is not empty.
func EmbedURL(base, page, id string) string {
	q := url.Values{"page": {page}}
	if id != "" {
		q.Set("id", id)
	}
	return "ws" + strings.TrimPrefix(base, "http") + "/ws/embed?" + q.Encode()
}

// Dial connects to url (ws://host/ws/posts/slug, or an EmbedURL).
func Dial(ctx context.Context, url string, opt Options) (*Conn, error) {
	h := http.Header{}
	if opt.Origin != "" {
		h.Set("Origin", opt.Origin)
	}
	sep := func() string {
		if strings.Contains(url, "?") {
			return "&"
		}
		return "?"
	}
	if opt.Hidden {
		url += sep() + "hidden=1"
	}
	if opt.Resume != "" {
		url += sep() + "resume=" + queryEscape(opt.Resume)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil {
			return nil, &DialError{Status: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	c := &Conn{ws: ws, changed: make(chan struct{}), ghosts: make(map[string]Reader), keep: opt.KeepFrames, onFrame: opt.OnFrame}
	go c.read()
	return c, nil
}

// DialError is a refused handshake.
type DialError struct {
	Status int
	Err    error
}

func (e *DialError) Error() string { return fmt.Sprintf("dial: HTTP %d: %v", e.Status, e.Err) }

func (c *Conn) read() {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.closed = err
			c.signal()
			c.mu.Unlock()
			return
		}
		f := Frame{Received: time.Now(), Raw: data}
		if err := json.Unmarshal(data, &f); err != nil {
			f = Frame{Type: "invalid", Error: err.Error(), Received: f.Received, Raw: data}
		}
		c.mu.Lock()
		c.apply(f)
		if c.keep {
			c.frames = append(c.frames, f)
		}
		c.signal()
		c.mu.Unlock()
		if c.onFrame != nil {
			c.onFrame(f)
		}
	}
}

func (c *Conn) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// apply updates the view as a browser would.
func (c *Conn) apply(f Frame) {
	switch f.Type {
	case "welcome":
		if f.You != nil {
			c.you = *f.You
		}
		c.resume = f.Resume
		clear(c.ghosts)
		c.total, c.bands = 0, nil
		for _, r := range f.Readers {
			c.ghosts[r.ID] = r
		}
	case "resume":
		c.resume = f.Resume
	case "join":
		if f.Reader != nil {
			c.ghosts[f.Reader.ID] = *f.Reader
		}
	case "leave":
		delete(c.ghosts, f.ID)
	case "moves":
		c.move(f.Moves)
	case "crowd":
		for _, id := range f.Leave {
			delete(c.ghosts, id)
		}
		for _, r := range f.Join {
			c.ghosts[r.ID] = r
		}
		c.move(f.Moves)
		c.total, c.bands = f.Total, f.Bands
	}
}

func (c *Conn) move(moves []Move) {
	for _, m := range moves {
		if r, ok := c.ghosts[m.ID]; ok {
			r.Position = m.Position
			c.ghosts[m.ID] = r
		}
	}
}

// Crowd is the post's reader count and density bands from the last crowd
// frame (zero and nil while the post is not crowded).
func (c *Conn) Crowd() (total int, bands []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.bands
}

// You is this reader as the welcome described it (zero before the welcome).
func (c *Conn) You() Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.you
}

// Ghosts is the other readers and their positions, sorted by id.
func (c *Conn) Ghosts() []Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Reader, 0, len(c.ghosts))
	for _, r := range c.ghosts {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Frames returns the frames received so far (with KeepFrames).
func (c *Conn) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// Err is why reading stopped (a *websocket.CloseError for a close frame), or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Wait blocks until cond holds, the connection ends, or ctx is done. cond
// is checked again after every frame; it may call c's methods.
func (c *Conn) Wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		closed, ch := c.closed, c.changed
		c.mu.Unlock()
		if cond() {
			return nil
		}
		if closed != nil {
			return fmt.Errorf("connection ended: %w", closed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFrame waits for the first frame of type typ after the n-th frame
// (n = 0 searches them all) and returns it with its index.
func (c *Conn) WaitFrame(ctx context.Context, typ string, after int) (Frame, int, error) {
	var f Frame
	idx := -1
	err := c.Wait(ctx, func() bool {
		frames := c.Frames()
		for i := after; i < len(frames); i++ {
			if frames[i].Type == typ {
				f, idx = frames[i], i
				return true
			}
		}
		return false
	})
	return f, idx, err
}

// WaitClosed waits for the connection to end and returns the close error.
func (c *Conn) WaitClosed(ctx context.Context) error {
	ch := func() chan struct{} { c.mu.Lock(); defer c.mu.Unlock(); return c.changed }
	for {
		if err := c.Err(); err != nil {
			return err
		}
		select {
		case <-ch():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Resume is the latest resume token the server sent ("" for none).
func (c *Conn) Resume() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resume
}

// Welcomed reports whether the welcome has arrived.
func (c *Conn) Welcomed() bool { return c.You().ID != "" }

// Scroll sends the reader's position.
func (c *Conn) Scroll(position float64) error {
	return c.WriteText(fmt.Appendf(nil, `{"type":"scroll","position":%g}`, position))
}

// WriteText sends any text frame (for testing the server's checks).
func (c *Conn) WriteText(data []byte) error { return c.write(websocket.TextMessage, data) }

// WriteBinary sends a binary frame.
func (c *Conn) WriteBinary(data []byte) error { return c.write(websocket.BinaryMessage, data) }

func (c *Conn) write(mt int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(mt, data)
}

// Close says goodbye with a close frame and closes the connection.
func (c *Conn) Close() error {
	c.wmu.Lock()
	err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	c.wmu.Unlock()
	return errors.Join(err, c.ws.Close())
}

// Kill drops the TCP connection without a close frame, as a crashed browser
// or a lost network would.
func (c *Conn) Kill() error { return c.ws.NetConn().Close() }

// queryEscape is url.QueryEscape, for Dial, whose parameter is named url.
func queryEscape(s string) string { return url.QueryEscape(s) }
