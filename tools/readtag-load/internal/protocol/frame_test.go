package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestPositionEncodesSendTime(t *testing.T) {
	for _, c := range []struct {
		sent, now int64
		want      int64
	}{
		{1_700_000_001_234, 1_700_000_001_240, 6},
		{1_700_000_001_234, 1_700_000_001_234, 0},
		// Wrap-around: sent at ...9995, received 12 ms later at ...0007.
		{1_700_000_009_995, 1_700_000_010_007, 12},
		{1_700_000_009_999, 1_700_000_010_000, 1},
		// A receiver clock a hair behind would otherwise go negative.
		{1_700_000_000_005, 1_700_000_000_004, 9999},
	} {
		ms := PositionFor(c.sent)
		frame := AppendScroll(nil, ms)
		// What the server does: parse, keep four decimals, send back.
		var in struct{ Position float64 }
		if err := json.Unmarshal(frame, &in); err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		echoed, _ := strconv.ParseFloat(strconv.FormatFloat(math.Round(in.Position*1e4)/1e4, 'f', -1, 64), 64)
		got, ok := MillisOf(echoed)
		if !ok || got != ms {
			t.Fatalf("position %v decodes to %d (ok %v), want %d", echoed, got, ok, ms)
		}
		if lat := LatencyMillis(c.now, got); lat != c.want {
			t.Errorf("sent %d, now %d: latency %d, want %d", c.sent, c.now, lat, c.want)
		}
	}
}

func TestEveryPositionRoundTrips(t *testing.T) {
	for ms := range wrapMillis {
		b := AppendScroll(nil, ms)
		var f struct {
			Type     string
			Position float64
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Type != "scroll" || f.Position < 0 || f.Position >= 1 {
			t.Fatalf("%s: %v", b, err)
		}
		// The server's rounding and formatting, then our parser.
		text := strconv.FormatFloat(math.Round(f.Position*1e4)/1e4, 'f', -1, 64)
		s := scanner{b: []byte(text)}
		p, ok := s.num()
		if !ok {
			t.Fatalf("cannot parse %s", text)
		}
		if got, ok := MillisOf(p); !ok || got != ms {
			t.Fatalf("ms %d → %s → %d", ms, text, got)
		}
	}
	if _, ok := MillisOf(1); ok {
		t.Error("position 1 is no send time")
	}
	if _, ok := MillisOf(-0.1); ok {
		t.Error("negative position accepted")
	}
}

func TestParseFrames(t *testing.T) {
	var f Frame
	self := []byte("selfselfselfs")
	cases := []struct {
		in    string
		check func() bool
	}{
		{`{"type":"welcome","you":{"id":"selfselfselfs","color":"#fff","position":0},"readers":[{"id":"a","color":"#000","position":0.25},{"id":"b","color":"#000","position":1}]}`,
			func() bool {
				return string(f.Type) == "welcome" && string(f.You) == "selfselfselfs" && f.Readers == 2 && f.ReadersX == IDHash([]byte("a"))^IDHash([]byte("b"))
			}},
		{`{"type":"welcome","you":{"id":"x","color":"#fff","position":0},"readers":[]}`,
			func() bool { return f.Readers == 0 && f.ReadersX == 0 }},
		{`{"type":"join","reader":{"id":"q3zv7kmd2a4xe","color":"#f76b15","position":0}}`,
			func() bool { return string(f.Type) == "join" && string(f.Reader) == "q3zv7kmd2a4xe" }},
		// Readers with names (added to v1 later).
		{`{"type":"welcome","you":{"id":"selfselfselfs","color":"#fff","name":"Teal Otter","position":0},"readers":[{"id":"a","color":"#000","name":"Red \"Fox\" 2","position":0.25}]}`,
			func() bool {
				return string(f.You) == "selfselfselfs" && f.Readers == 1 && f.ReadersX == IDHash([]byte("a"))
			}},
		{`{"type":"join","reader":{"id":"q3zv7kmd2a4xe","color":"#f76b15","name":"Amber Lynx","position":0}}`,
			func() bool { return string(f.Type) == "join" && string(f.Reader) == "q3zv7kmd2a4xe" }},
		{`{"type":"leave","id":"mb5ynq2c7rk3a"}`,
			func() bool { return string(f.Type) == "leave" && string(f.ID) == "mb5ynq2c7rk3a" }},
		{`{"type":"moves","moves":[{"id":"a","position":0.1234},{"id":"selfselfselfs","position":0.5},{"id":"b","position":0}]}`,
			func() bool {
				return string(f.Type) == "moves" && f.Moves == 3 && f.Own == 1 && len(f.Sent) == 2 && f.Sent[0] == 1234 && f.Sent[1] == 0
			}},
		// Key order, white space and fields a later version might add.
		{` { "moves" : [ { "position" : 5e-1 , "extra":{"n":[1,2,{"x":null}]}, "id" : "a" } ] , "type" : "moves", "v": true } `,
			func() bool { return string(f.Type) == "moves" && f.Moves == 1 && len(f.Sent) == 1 && f.Sent[0] == 5000 }},
		{`{"type":"error","error":"\"position\" must be a number from 0 to 1"}`,
			func() bool { return f.ErrorText() == `"position" must be a number from 0 to 1` }},
		{`{"type":"presence-v2","whatever":[1,"two",{"three":3}]}`,
			func() bool { return string(f.Type) == "presence-v2" }},
	}
	for _, c := range cases {
		if err := ParseFrame([]byte(c.in), self, &f); err != nil {
			t.Errorf("ParseFrame(%s): %v", c.in, err)
			continue
		}
		if !c.check() {
			t.Errorf("ParseFrame(%s) = %+v", c.in, f)
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":"moves"`, `{"type":moves}`, `{"a":1}x`, `{"moves":[{"id":"a","position":}]}`, `{"a":tru}`} {
		if err := ParseFrame([]byte(bad), self, &f); err == nil {
			t.Errorf("ParseFrame(%q) accepted a broken frame", bad)
		}
	}
}

// TestParseMatchesEncodingJSON checks the fast parser against the standard
// library on random moves frames.
func TestParseMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var f Frame
	for range 200 {
		n := r.IntN(50)
		b := []byte(`{"type":"moves","moves":[`)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			p := math.Round(r.Float64()*1e4) / 1e4
			b = fmt.Appendf(b, `{"id":"r%d","position":%s}`, i, strconv.FormatFloat(p, 'f', -1, 64))
		}
		b = append(b, "]}"...)
		var std struct {
			Type  string
			Moves []struct {
				ID       string
				Position float64
			}
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatal(err)
		}
		if err := ParseFrame(b, nil, &f); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if f.Moves != len(std.Moves) {
			t.Fatalf("%d moves, want %d", f.Moves, len(std.Moves))
		}
		k := 0
		for _, m := range std.Moves {
			if ms, ok := MillisOf(m.Position); ok {
				if int(f.Sent[k]) != ms {
					t.Fatalf("entry %d: %d, want %d", k, f.Sent[k], ms)
				}
				k++
			}
		}
		if k != len(f.Sent) {
			t.Fatalf("%d send times, want %d", len(f.Sent), k)
		}
	}
}

func TestParseFrameDoesNotAllocate(t *testing.T) {
	b := []byte(`{"type":"moves","moves":[{"id":"a","position":0.1234},{"id":"b","position":0.5}]}`)
	f := Frame{Sent: make([]int32, 0, 8)}
	allocs := testing.AllocsPerRun(100, func() { _ = ParseFrame(b, nil, &f) })
	if allocs > 0 {
		t.Errorf("ParseFrame allocates %v times per moves frame", allocs)
	}
}

func TestParseCrowdFrame(t *testing.T) {
	var f Frame
	in := `{"type":"crowd","total":120,"bands":[0,3,117],"leave":["a","b"],"join":[{"id":"c","color":"#000","position":0.5}],"moves":[{"id":"d","position":0.0042}]}`
	if err := ParseFrame([]byte(in), []byte("self"), &f); err != nil {
		t.Fatal(err)
	}
	if string(f.Type) != "crowd" || !f.HasTotal || f.Total != 120 || f.LeaveN != 2 || f.JoinN != 1 ||
		f.LeaveX != IDHash([]byte("a"))^IDHash([]byte("b")) || f.JoinX != IDHash([]byte("c")) ||
		f.Moves != 1 || len(f.Sent) != 1 || f.Sent[0] != 42 {
		t.Errorf("parsed %+v", f)
	}
}
