package web

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/readtag/readtag"
)

func TestDecodeScroll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{in: `{"type":"scroll","position":0.5}`, want: 0.5},
		{in: `{"type":"scroll","position":0}`, want: 0},
		{in: `{"type":"scroll","position":1}`, want: 1},
		{in: `{"type":"scroll","position":0.123456}`, want: 0.1235},
		{in: `{"position":0.2,"type":"scroll","extra":true}`, want: 0.2},
		{in: `{"type":"scroll","position":1e-7}`, want: 0},
		{in: ``, err: "invalid JSON"},
		{in: `nope`, err: "invalid JSON"},
		{in: `"scroll"`, err: "invalid JSON"},
		{in: `null`, err: "invalid JSON"},
		{in: ` null `, err: "invalid JSON"},
		{in: `[{"type":"scroll","position":0.5}]`, err: "invalid JSON"},
		{in: `0.5`, err: "invalid JSON"},
		{in: `true`, err: "invalid JSON"},
		{in: `{"type":null,"position":0.5}`, err: `missing or non-string "type"`},
		{in: `{"type":1}`, err: `non-string "type"`},
		{in: `{}`, err: `missing or non-string "type"`},
		{in: `{"type":"hello"}`, err: `unknown message type "hello"`},
		{in: `{"type":"` + strings.Repeat("x", 100) + `"}`, err: "unknown message type (the only one"},
		{in: `{"type":"scroll"}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":null}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":"0.5"}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":1.0001}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":-1}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":1e400}`, err: `"position" must be`},
		{in: `{"type":"scroll","position":[0.5]}`, err: `"position" must be`},
	} {
		got, err := decodeScroll([]byte(tc.in))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("decodeScroll(%s) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("decodeScroll(%s) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzDecodeScroll feeds the client frame decoder arbitrary frames: it must
// never panic, accept only scroll frames with a rounded position in [0,1],
// and answer everything else with a short, valid error frame.
func FuzzDecodeScroll(f *testing.F) {
	for _, s := range []string{
		`{"type":"scroll","position":0.5}`, `{"type":"scroll","position":1e-9}`, `{"type":"scroll","position":"0.5"}`,
		`{"type":"scroll","position":null}`, `{"type":"scrol","position":0.5}`, `{"type":1}`, `[]`, `null`, ``,
		`{"type":"scroll","position":0.5,"type":"x"}`, `{"type":"\u00e9\u0000","position":2}`, "{\"type\":\"\xff\"}",
		`{"position":-0,"type":"scroll"}`, `{"type":"scroll","position":1.00000000000000000001}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if fast, ok := decodeScrollFast(data); ok {
			if slow, err := decodeScrollJSON(data); err != nil || slow != fast {
				t.Fatalf("%q: fast path %v, full parse %v, %v", data, fast, slow, err)
			}
		}
		p, err := decodeScroll(data)
		if err != nil {
			msg := err.Error()
			if !utf8.ValidString(msg) || len(msg) > 200 {
				t.Fatalf("%q: error %q is not short valid UTF-8", data, msg)
			}
			if frame := appendError(nil, msg); !json.Valid(frame) {
				t.Fatalf("%q: error frame %s is not JSON", data, frame)
			}
			return
		}
		if !(p >= 0 && p <= 1) || p != roundPosition(p) {
			t.Fatalf("%q: accepted position %v", data, p)
		}
		var f struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &f) != nil || f.Type != "scroll" {
			t.Fatalf("%q: accepted a frame that is not a scroll", data)
		}
	})
}

// valid reports whether b is JSON and decodes it into v.
func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
}

func TestEncodeFrames(t *testing.T) {
	you := readtag.Reader{ID: "abc", Color: "#e5484d", Position: 0}
	others := []readtag.Reader{{ID: "def", Color: "#30a46c", Position: 0.25}}
	var w struct {
		Type    string
		You     readtag.Reader
		Readers []readtag.Reader
	}
	b := appendWelcome(nil, you, others, "")
	if string(b) != `{"type":"welcome","you":{"id":"abc","color":"#e5484d","position":0},"readers":[{"id":"def","color":"#30a46c","position":0.25}]}` {
		t.Errorf("welcome: %s", b)
	}
	mustJSON(t, b, &w)
	if string(appendWelcome(nil, you, nil, "")) != `{"type":"welcome","you":{"id":"abc","color":"#e5484d","position":0},"readers":[]}` {
		t.Errorf("empty welcome: %s", appendWelcome(nil, you, nil, ""))
	}
	if got := string(appendJoin(nil, others[0])); got != `{"type":"join","reader":{"id":"def","color":"#30a46c","position":0.25}}` {
		t.Errorf("join: %s", got)
	}
	named := readtag.Reader{ID: "ghi", Color: "#12a594", Name: "Teal Otter", Position: 0.5}
	if got := string(appendJoin(nil, named)); got != `{"type":"join","reader":{"id":"ghi","color":"#12a594","name":"Teal Otter","position":0.5}}` {
		t.Errorf("join with a name: %s", got)
	}
	// A name from a hostile peer still makes valid JSON, unchanged.
	named.Name = "</script>\"\u2028\x00 é"
	var j struct{ Reader readtag.Reader }
	mustJSON(t, appendJoin(nil, named), &j)
	if j.Reader.Name != named.Name {
		t.Errorf("name round trip: %q, want %q", j.Reader.Name, named.Name)
	}
	if got := string(appendLeave(nil, "def")); got != `{"type":"leave","id":"def"}` {
		t.Errorf("leave: %s", got)
	}
	moves := []readtag.Move{{ID: "abc", Position: 0.5}, {ID: "def", Position: 1}}
	if got, ok := appendMoves(nil, moves, "abc"); !ok || string(got) != `{"type":"moves","moves":[{"id":"def","position":1}]}` {
		t.Errorf("moves: %s", got)
	}
	if got, ok := appendMoves([]byte("x"), moves[:1], "abc"); ok || string(got) != "x" {
		t.Errorf("moves with only one's own: %q, %v", got, ok)
	}
	// A move with a live position is written as the position is when the
	// frame is written, not when the move was made.
	var live readtag.Cell
	live.Store(0.25)
	late := []readtag.Move{{ID: "def", Position: 0.25, Live: &live}}
	live.Store(0.75)
	if got, ok := appendMoves(nil, late, ""); !ok || string(got) != `{"type":"moves","moves":[{"id":"def","position":0.75}]}` {
		t.Errorf("live moves: %s", got)
	}
	if got := string(appendCrowd(nil, readtag.Crowd{Total: 2, Moves: late})); !strings.Contains(got, `"moves":[{"id":"def","position":0.75}]`) {
		t.Errorf("live crowd moves: %s", got)
	}
	var e struct{ Type, Error string }
	reason := "bad \"quote\" \\ and \n newline and <tag> and é"
	mustJSON(t, appendError(nil, reason), &e)
	if e.Type != "error" || e.Error != reason {
		t.Errorf("error frame round trip: %+v", e)
	}
}

func TestOutboxCoalescesAndBounds(t *testing.T) {
	o := newOutbox(4, nil)
	o.Welcome(readtag.Reader{ID: "me"}, nil)
	o.Moves([]readtag.Move{{ID: "a", Position: 0.1}, {ID: "me", Position: 0.2}})
	shared := []readtag.Move{{ID: "a", Position: 0.3}, {ID: "b", Position: 0.4}}
	o.Moves(shared)
	if shared[0].Position != 0.3 {
		t.Fatal("merging modified the shared slice")
	}
	batch, closing, _, _ := o.take()
	if len(batch) != 2 || closing {
		t.Fatalf("queued %d items (closing %v), want welcome + one merged moves", len(batch), closing)
	}
	got, _ := appendMoves(nil, batch[1].moves, o.self())
	if string(got) != `{"type":"moves","moves":[{"id":"a","position":0.3},{"id":"b","position":0.4}]}` {
		t.Errorf("merged moves: %s", got)
	}
	o.done(batch)

	// Joins and leaves do not merge: a client that lets them pile up past
	// the limit is closed, and what it had queued is dropped.
	for i := 0; i < 5; i++ {
		o.Join(readtag.Reader{ID: "x"})
	}
	batch, closing, code, reason := o.take()
	if !closing || code != closePolicy || !strings.Contains(reason, "too slow") || len(batch) != 0 {
		t.Errorf("overflow: %d items, closing %v, %d %q", len(batch), closing, code, reason)
	}
	o.Join(readtag.Reader{ID: "y"}) // after closing: ignored, never blocks
	if batch, _, _, _ := o.take(); len(batch) != 0 {
		t.Errorf("queued after close: %v", batch)
	}
}

// appendPosition writes what strconv.AppendFloat would, for every
// four-decimal position and for values that are not.
func TestAppendPosition(t *testing.T) {
	for i := 0; i <= 10000; i++ {
		p := roundPosition(float64(i) / 10000)
		if got, want := string(appendPosition(nil, p)), strconv.FormatFloat(p, 'f', -1, 64); got != want {
			t.Fatalf("appendPosition(%v) = %q, want %q", p, got, want)
		}
	}
	for _, p := range []float64{0.12345, 1.5, -0.25, 1e-9, 0.1 + 0.2, math.Copysign(0, -1), math.NaN(), math.Inf(1)} {
		if got, want := string(appendPosition(nil, p)), strconv.FormatFloat(p, 'f', -1, 64); got != want {
			t.Fatalf("appendPosition(%v) = %q, want %q", p, got, want)
		}
	}
}

// The fast path of decodeScroll takes only frames the full parse takes, and
// reads the same position from them.
func TestDecodeScrollFast(t *testing.T) {
	ins := []string{
		`{"type":"scroll","position":0.5}`, `{"type":"scroll","position":0}`, `{"type":"scroll","position":1}`,
		`{"type":"scroll","position":1.0}`, `{"type":"scroll","position":1.0000}`, `{"type":"scroll","position":0.99995}`,
		`{"type":"scroll","position":0.123456789012345}`, `{"type":"scroll","position":1.0001}`, `{"type":"scroll","position":0.}`,
		`{"type":"scroll","position":01}`, `{"type":"scroll","position":.5}`, `{"type":"scroll","position":0.5e1}`,
		`{"type":"scroll","position":0x1}`, `{"type":"scroll","position":1.5}`, `{"type":"scroll","position":0.5 }`,
		`{"type":"scroll","position":0.5}}`, `{"type":"scroll","position":-0}`, `{"type":"scroll","position":}`,
		`{"type":"scroll","position":0_5}`, `{"type":"scroll","position":1.}`, `{"type":"scroll","position":0.1234567890123456789}`,
	}
	for i := 0; i <= 10000; i += 7 {
		ins = append(ins, `{"type":"scroll","position":`+strconv.FormatFloat(float64(i)/10000, 'f', -1, 64)+`}`)
	}
	for _, in := range ins {
		fast, ok := decodeScrollFast([]byte(in))
		slow, err := decodeScrollJSON([]byte(in))
		if ok && (err != nil || fast != slow) {
			t.Errorf("%s: fast path %v, full parse %v, %v", in, fast, slow, err)
		}
	}
}

// TestSafeJSONTable checks safeJSON's table byte by byte against the rule it
// replaced.
func TestSafeJSONTable(t *testing.T) {
	for i := range 256 {
		c := byte(i)
		want := !(c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&')
		if got := safeJSON(string([]byte{c})); got != want {
			t.Errorf("safeJSON(%q) = %v, want %v", c, got, want)
		}
	}
}

// FuzzAppendString checks that appendString writes what encoding/json does.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "a\"b", "<&>", "\\", "\x00\x1f", "é", "\xff", "\u2028", "k3j5m7n2p4q6r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendString(%q) = %s, want x%s", s, got, want)
		}
	})
}

// TestEncodeCrowdHostile: a crowd frame listing readers replicated from a
// hostile peer (cluster_tracker.go checks lengths and UTF-8 only) is still
// valid JSON, and every string comes through unchanged.
func TestEncodeCrowdHostile(t *testing.T) {
	bad := readtag.Reader{ID: "</script>\"\\\u2028\x00<&>", Color: "#fff\"><b>", Name: "</script>\"\u2028\x00 é\t", Position: 0.5}
	u := readtag.Crowd{Total: 3, Bands: []int{1, 2}, Join: []readtag.Reader{bad}, Leave: []string{bad.ID, "x\"y"},
		Moves: []readtag.Move{{ID: bad.ID, Position: 0.25}}}
	b := appendCrowd(nil, u)
	var f struct {
		Type  string
		Total int
		Bands []int
		Join  []readtag.Reader
		Leave []string
		Moves []readtag.Move
	}
	mustJSON(t, b, &f)
	if f.Type != "crowd" || f.Total != 3 || len(f.Bands) != 2 || len(f.Join) != 1 || f.Join[0] != bad ||
		len(f.Leave) != 2 || f.Leave[0] != bad.ID || f.Leave[1] != "x\"y" || len(f.Moves) != 1 || f.Moves[0] != u.Moves[0] {
		t.Errorf("hostile strings did not round trip: %s", b)
	}
}
