package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// Scroll-to-ghost latency across processes without a shared clock source
// other than the machine's: every sender scrolls to a position that encodes
// its send time, position = (unix ms mod 10000) / 10000. The server keeps
// four decimals, which is exactly 1 ms, and the receiver subtracts the
// position's time from its own. Wraps every 10 s, so latencies of 10 s or
// more alias (a server that slow is obvious from everything else).
const wrapMillis = 10000

// PositionFor is the position that encodes the time nowMillis (unix ms).
func PositionFor(nowMillis int64) int {
	ms := nowMillis % wrapMillis
	if ms < 0 {
		ms += wrapMillis
	}
	return int(ms)
}

// AppendScroll appends the scroll frame for the encoded position ms
// (0..9999), written as 0.dddd so that it survives the server's rounding.
func AppendScroll(b []byte, ms int) []byte {
	b = append(b, `{"type":"scroll","position":0.`...)
	d := [4]byte{byte('0' + ms/1000%10), byte('0' + ms/100%10), byte('0' + ms/10%10), byte('0' + ms%10)}
	b = append(b, d[:]...)
	return append(b, '}')
}

// MillisOf decodes a received position back into the send time's ms
// (0..9999); ok is false for positions no sender of ours could have sent.
func MillisOf(p float64) (int, bool) {
	if !(p >= 0 && p < 1) {
		return 0, false
	}
	return int(math.Round(p*wrapMillis)) % wrapMillis, true
}

// LatencyMillis is the time from the encoded send time sentMs to nowMillis,
// in [0, 10000).
func LatencyMillis(nowMillis int64, sentMs int) int64 {
	d := (nowMillis - int64(sentMs)) % wrapMillis
	if d < 0 {
		d += wrapMillis
	}
	return d
}

// Frame is what the tool needs from one server frame. Byte slices point
// into the frame's buffer and are valid only until the next frame.
type Frame struct {
	Type    []byte
	You     []byte // welcome
	Reader  []byte // join
	ID      []byte // leave
	ErrText []byte // error, raw JSON string contents
	ErrEsc  bool   // ErrText holds escapes

	// Readers and ReadersX summarise a welcome's readers: how many and the
	// XOR of their id hashes (see IDHash).
	Readers  int
	ReadersX uint64
	// Moves counts moves entries; Sent holds the decoded send time of each
	// entry whose position carried one; Own counts entries about self.
	Moves int
	Sent  []int32
	// From holds, when NodeOf is set, the target index of each Sent
	// entry's mover (-1: unknown), for the same/cross-node split.
	From   []int8
	NodeOf func(id []byte) int8
	Own    int

	// A crowd frame (readtag's crowded-post mode, not in protocol v1's
	// document yet): the room's size, and the readers that became visible
	// (join) and stopped being visible (leave), summarised as above.
	Total    int
	HasTotal bool
	JoinN    int
	JoinX    uint64
	LeaveN   int
	LeaveX   uint64
}

var errBadFrame = errors.New("not a JSON object")

// ParseFrame reads a server frame without allocating: thousands of readers
// each receive 20 moves frames a second holding hundreds of entries, and
// encoding/json would make the tool, not the server, the bottleneck. It
// accepts any JSON object, in any key order, skipping keys it does not use.
// self is the receiving reader's id (empty before the welcome).
func ParseFrame(b []byte, self []byte, f *Frame) error {
	*f = Frame{Sent: f.Sent[:0], From: f.From[:0], NodeOf: f.NodeOf}
	s := scanner{b: b}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, _, ok := s.str()
			f.Type = v
			return ok
		case "you":
			return s.reader(func(id []byte) { f.You = id })
		case "reader":
			return s.reader(func(id []byte) { f.Reader = id })
		case "id":
			v, _, ok := s.str()
			f.ID = v
			return ok
		case "error":
			v, esc, ok := s.str()
			f.ErrText, f.ErrEsc = v, esc
			return ok
		case "readers":
			return s.array(func() bool {
				return s.reader(func(id []byte) {
					f.Readers++
					f.ReadersX ^= IDHash(id)
				})
			})
		case "moves":
			return s.array(func() bool { return s.move(self, f) })
		case "total":
			v, ok := s.num()
			f.Total, f.HasTotal = int(v), ok
			return ok
		case "join":
			if !s.peekArray() {
				return s.skip(0)
			}
			return s.array(func() bool {
				return s.reader(func(id []byte) {
					f.JoinN++
					f.JoinX ^= IDHash(id)
				})
			})
		case "leave":
			if !s.peekArray() {
				return s.skip(0)
			}
			return s.array(func() bool {
				id, _, ok := s.str()
				f.LeaveN++
				f.LeaveX ^= IDHash(id)
				return ok
			})
		}
		return s.skip(0)
	})
	if !ok {
		return errBadFrame
	}
	s.ws()
	if s.i != len(s.b) {
		return errBadFrame
	}
	return nil
}

// ErrorText returns an error frame's text, unescaped.
func (f *Frame) ErrorText() string {
	if !f.ErrEsc {
		return string(f.ErrText)
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, f.ErrText...), '"'), &s) != nil {
		return string(f.ErrText)
	}
	return s
}

// IDHash maps a reader id to 64 bits (FNV-1a, then a mixer so that XOR
// over sets of similar ids stays well spread). A reader's view is kept as
// (count, XOR of hashes), which updates in O(1) per join and leave and is
// compared across processes without shipping every id of every view.
func IDHash(id []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range id {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// scanner is a minimal JSON reader over one buffer.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c (after white space) if it is next.
func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c { // the usual case: no white space
		s.i++
		return true
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its raw contents (escapes left as they
// are, esc reporting whether there were any). It is lenient about control
// characters, which readers of a trusted server need not police.
func (s *scanner) str() (v []byte, esc bool, ok bool) {
	if !s.eat('"') {
		return nil, false, false
	}
	start := s.i
	// Ids, colours and names are short: one loop looking for both the
	// closing quote and a backslash beats two calls of bytes.IndexByte.
	for i := start; i < len(s.b); i++ {
		switch s.b[i] {
		case '"':
			s.i = i + 1
			return s.b[start:i], false, true
		case '\\':
			goto escaped
		}
	}
	return nil, false, false
escaped:
	// Escapes: walk, so that an escaped quote does not end the string.
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			v = s.b[start:s.i]
			s.i++
			return v, true, true
		case '\\':
			s.i += 2
		default:
			s.i++
		}
	}
	return nil, false, false
}

// num reads a number. The common case (digits, a point, at most 15 digits)
// is computed directly; anything else goes through strconv.
func (s *scanner) num() (float64, bool) {
	s.ws()
	start := s.i
	var mant uint64
	digits, frac := 0, -1
	simple := true
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
		simple = false
	}
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		case c == 'e' || c == 'E' || c == '+' || c == '-':
			simple = false
		default:
			goto done
		}
	}
done:
	if digits == 0 {
		return 0, false
	}
	if simple && digits <= 15 {
		if frac <= 0 {
			return float64(mant), true
		}
		// Both operands are exact, so the division is correctly rounded.
		return float64(mant) / pow10[frac], true
	}
	v, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	return v, err == nil
}

// skipPlainNum consumes a number of digits with at most one point (a crowd
// frame's 50 bands, a colour's position) without computing its value, and
// reports whether it did; anything else it leaves for num, which accepts or
// rejects exactly what it did before this shortcut.
func (s *scanner) skipPlainNum() bool {
	i, dot := s.i, false
	for ; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
			return false
		default:
			s.i = i
			return true
		}
	}
	s.i = i
	return true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// peekArray reports whether an array comes next.
func (s *scanner) peekArray() bool {
	s.ws()
	return s.i < len(s.b) && s.b[s.i] == '['
}

// object reads {"key": value, ...}, calling fn for each key with the value
// still to be read; fn must consume it.
func (s *scanner) object(fn func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, _, ok := s.str()
		if !ok || !s.eat(':') || !fn(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// array reads [value, ...], calling fn to consume each value.
func (s *scanner) array(fn func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !fn() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// reader reads a reader object and reports its id.
func (s *scanner) reader(fn func(id []byte)) bool {
	var id []byte
	ok := s.object(func(key []byte) bool {
		if string(key) == "id" {
			v, _, ok := s.str()
			id = v
			return ok
		}
		return s.skip(0)
	})
	if ok && id != nil {
		fn(id)
	}
	return ok
}

// move reads one moves entry into f.
func (s *scanner) move(self []byte, f *Frame) bool {
	var id []byte
	pos, hasPos := 0.0, false
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			v, _, ok := s.str()
			id = v
			return ok
		case "position":
			v, ok := s.num()
			pos, hasPos = v, ok
			return ok
		}
		return s.skip(0)
	})
	if !ok {
		return false
	}
	f.Moves++
	if len(self) > 0 && bytes.Equal(id, self) {
		f.Own++
		return true
	}
	if hasPos {
		if ms, ok := MillisOf(pos); ok {
			f.Sent = append(f.Sent, int32(ms))
			if f.NodeOf != nil {
				f.From = append(f.From, f.NodeOf(id))
			}
		}
	}
	return true
}

// skip consumes any value; depth bounds nesting so a hostile frame cannot
// exhaust the stack.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, ok := s.str()
		return ok
	case c == '{':
		return s.object(func([]byte) bool { return s.skip(depth + 1) })
	case c == '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case c >= '0' && c <= '9':
		if s.skipPlainNum() {
			return true
		}
		_, ok := s.num()
		return ok
	case c == '-':
		_, ok := s.num()
		return ok
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			return true
		}
	}
	return false
}
