package protocol

import (
	"bytes"
	"testing"
)

// refStr is scanner.str as it was before its single loop (two calls of
// bytes.IndexByte): the fuzz target holds the new one to it.
func refStr(b []byte) (v []byte, esc bool, ok bool, end int) {
	s := &scanner{b: b}
	if !s.eat('"') {
		return nil, false, false, s.i
	}
	start := s.i
	e := bytes.IndexByte(s.b[start:], '"')
	if e < 0 {
		return nil, false, false, s.i
	}
	if bytes.IndexByte(s.b[start:start+e], '\\') < 0 {
		s.i = start + e + 1
		return s.b[start : start+e], false, true, s.i
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			v = s.b[start:s.i]
			s.i++
			return v, true, true, s.i
		case '\\':
			s.i += 2
		default:
			s.i++
		}
	}
	return nil, false, false, s.i
}

// FuzzParseFrame: no input crashes the parser, strings read as before,
// and the shortcut that skips plain numbers agrees with num.
func FuzzParseFrame(f *testing.F) {
	for _, fr := range loadCorpus(f) {
		f.Add(fr.data)
	}
	for _, s := range []string{`"a\"b"`, `"a\\"`, `"\`, `""`, `12`, `1.2.3`, `1e5`, `12-3`, `0.`, `7,`, `-1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		_ = ParseFrame(data, []byte("self"), &fr)
		_ = fr.ErrorText()

		s := scanner{b: data}
		v, esc, ok := s.str()
		rv, resc, rok, rend := refStr(data)
		if ok != rok || (ok && (!bytes.Equal(v, rv) || esc != resc || s.i != rend)) {
			t.Fatalf("str(%q) = %q %v %v at %d, before it was %q %v %v at %d", data, v, esc, ok, s.i, rv, resc, rok, rend)
		}

		if len(data) > 0 && data[0] >= '0' && data[0] <= '9' {
			a := scanner{b: data}
			if a.skipPlainNum() {
				b := scanner{b: data}
				if _, ok := b.num(); !ok || b.i != a.i {
					t.Fatalf("%q: skipPlainNum ends at %d, num at %d (ok %v)", data, a.i, b.i, ok)
				}
			}
		}
	})
}
