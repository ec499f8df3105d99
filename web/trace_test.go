package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
)

// logLine is one JSON log line, decoded.
type logLine map[string]any

func (l logLine) s(key string) string { v, _ := l[key].(string); return v }

func parseLogs(t *testing.T, raw string) []logLine {
	t.Helper()
	var lines []logLine
	sc := bufio.NewScanner(strings.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

// step matches a log line: every field given must be equal (for "to",
// the PID must end with it).
type step map[string]string

func (s step) match(l logLine) bool {
	for k, want := range s {
		got := l.s(k)
		if k == "to" {
			if !strings.HasSuffix(got, want) {
				return false
			}
			continue
		}
		if got != want {
			return false
		}
	}
	return true
}

func TestTraceFollowsOneReader(t *testing.T) {
	ts := startServer(t, nil)
	watcher := ts.dial(t, "alpha")
	c := ts.dial(t, "alpha")
	rid := id(c)
	_ = c.Scroll(0.4)
	waitGhosts(t, watcher, rid+"@0.4")
	n := len(c.Frames())
	_ = c.WriteText([]byte(`{"type":"jump"}`))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, _, err := c.WaitFrame(ctx, "error", n); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	waitGhosts(t, watcher)

	var mine []logLine
	// The room's readerGone ends the actors' side; the handler's "websocket
	// closed" line ends the socket's side (it is written after the writer
	// goroutine has logged its last frame). Neither waits for the other.
	eventually(t, "the leave and the close in the log", func() bool {
		mine = nil
		for _, l := range parseLogs(t, ts.Logs.String()) {
			if strings.Contains(l.s("reader")+" "+l.s("to")+" "+l.s("actor"), rid) {
				mine = append(mine, l)
			}
		}
		gone, closed := false, false
		for _, l := range mine {
			gone = gone || l.s("type") == "actors.readerGone" && l.s("stopped") == "conn/"+rid
			closed = closed || l.s("msg") == "websocket closed" && l.s("why") != ""
		}
		return gone && closed
	})
	room := "/rooms/local/room/alpha"
	// Each chain is one causal path: every line is caused by the one before
	// it (through one goroutine, one actor's inbox or one socket), so the
	// log must hold it in this order. Lines of different chains are written
	// by independent goroutines and may interleave in any order: the writer
	// logs "frame out" after the write, by which time the client may have
	// answered and the reader goroutine logged "frame in".
	chains := map[string][]step{
		"join": {
			{"msg": "websocket upgrade", "post": "alpha"},
			{"msg": "websocket open"},
			{"msg": "actor message", "to": "/conn/" + rid, "type": "actor.Started", "kind": "conn", "post": "alpha"},
			{"msg": "actor message", "to": "/rooms/local", "type": "actors.join", "from": "local/conn/" + rid},
			{"msg": "actor message", "to": room, "type": "actors.join", "kind": "room"},
			{"msg": "actor message", "to": room + "/reader/" + rid, "type": "actor.Started", "kind": "reader"},
			{"msg": "to socket", "to": "/conn/" + rid, "type": "welcome", "from": "local" + room},
			{"msg": "websocket frame out", "type": "welcome"},
		},
		// The room queues the welcome frame itself and then tells the conn;
		// the frame and the conn's message may be logged in either order.
		"welcome": {
			{"msg": "actor message", "to": room, "type": "actors.join", "kind": "room"},
			{"msg": "to socket", "to": "/conn/" + rid, "type": "welcome"},
			{"msg": "actor message", "to": "/conn/" + rid, "type": "actors.welcome", "from": "local" + room},
		},
		// The client scrolls only once welcomed, and the room handed the
		// session the reader's seat (its actor spawned with its Started
		// logged on the room's goroutine) before it queued the welcome:
		// traced, the scroll goes to the reader actor, which puts it in the
		// seat, and the room is woken to collect it.
		"scroll": {
			{"msg": "actor message", "to": room + "/reader/" + rid, "type": "actor.Started", "kind": "reader"},
			{"msg": "websocket frame in"},
			{"msg": "actor message", "to": room + "/reader/" + rid, "type": "actors.scroll", "position": ""},
			{"msg": "actor message", "to": room, "type": "actors.movesDue", "position": ""},
		},
		"bad frame": {
			{"msg": "websocket frame in"},
			{"msg": "websocket frame in"},
			{"msg": "websocket frame out", "type": "error"},
		},
		"leave": {
			{"msg": "actor message", "to": "/conn/" + rid, "type": "actor.Stopped"},
			{"msg": "actor message", "to": "/monitor/local", "type": "actor.ActorStoppedEvent", "actor": "conn/" + rid},
			{"msg": "actor message", "to": room, "type": "actors.readerGone", "stopped": "conn/" + rid},
		},
	}
	for name, want := range chains {
		// "position" is a number; an empty string in a step means "any".
		i := 0
		for _, l := range mine {
			if i < len(want) && matchLoose(want[i], l) {
				if l.s("reader") != rid {
					t.Errorf("%s step %d (%v) has reader %q, want %q", name, i, want[i], l.s("reader"), rid)
				}
				i++
			}
		}
		if i < len(want) {
			var got strings.Builder
			for _, l := range mine {
				b, _ := json.Marshal(l)
				got.Write(append(b, '\n'))
			}
			t.Errorf("%s: trace stops matching at step %d %v; the reader's lines:\n%s", name, i, want[i], got.String())
		}
	}
	// What the room hands the watcher's socket names the reader too.
	wid := id(watcher)
	eventually(t, "the watcher's join, moves and leave in the log", func() bool {
		var join, moves, leave bool
		for _, l := range parseLogs(t, ts.Logs.String()) {
			if l.s("msg") != "to socket" || l.s("reader") != wid || !strings.HasSuffix(l.s("to"), "/conn/"+wid) {
				continue
			}
			join = join || l.s("type") == "join" && l.s("joined") == rid
			moves = moves || l.s("type") == "moves"
			leave = leave || l.s("type") == "leave" && l.s("left") == rid
		}
		return join && moves && leave
	})
	// The scroll's position is in the summary.
	for _, l := range mine {
		if l.s("type") == "actors.moved" && l["position"] != 0.4 {
			t.Errorf("moved line without the position: %v", l)
		}
	}
}

func matchLoose(s step, l logLine) bool {
	strict := step{}
	for k, v := range s {
		if v == "" {
			if _, ok := l[k]; !ok {
				return false
			}
			continue
		}
		strict[k] = v
	}
	return strict.match(l)
}

func TestTraceFilter(t *testing.T) {
	ts := startServer(t, func(_ *web.Config, a *actors.Config) {
		a.Trace = actors.Trace{Kinds: []string{"reader"}}
	})
	watcher := ts.dial(t, "alpha")
	c := ts.dial(t, "alpha")
	_ = c.Scroll(0.7)
	waitGhosts(t, watcher, id(c)+"@0.7")
	var kinds = map[string]int{}
	eventually(t, "the reader's scroll traced", func() bool {
		clear(kinds)
		for _, l := range parseLogs(t, ts.Logs.String()) {
			if l.s("msg") == "actor message" {
				kinds[l.s("kind")]++
			}
		}
		return kinds["reader"] > 0
	})
	if len(kinds) != 1 {
		t.Errorf("--trace reader traced kinds %v, want only reader", kinds)
	}
}

func TestTracePostFilter(t *testing.T) {
	ts := startServer(t, func(_ *web.Config, a *actors.Config) {
		a.Trace = actors.Trace{Post: "beta"}
	})
	a := ts.dial(t, "alpha")
	b := ts.dial(t, "beta")
	_ = a.Scroll(0.1)
	_ = b.Scroll(0.2)
	eventually(t, "beta traced", func() bool {
		return strings.Contains(ts.Logs.String(), `"post":"beta"`)
	})
	for _, l := range parseLogs(t, ts.Logs.String()) {
		if l.s("msg") == "actor message" && l.s("post") != "beta" {
			t.Errorf("traced a line outside post beta: %v", l)
		}
	}
}
