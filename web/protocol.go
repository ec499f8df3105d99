package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/readtag/readtag"
)

// Wire protocol v1: JSON text frames, documented in docs/protocol.md.

// decodeScroll reads a client frame, which must be
// {"type":"scroll","position":P} with P a number in [0,1]. The error text is
// sent back to the client as is.
func decodeScroll(data []byte) (float64, error) {
	if p, ok := decodeScrollFast(data); ok {
		return p, nil
	}
	return decodeScrollJSON(data)
}

// decodeScrollJSON is decodeScroll's full parse, with its error messages.
func decodeScrollJSON(data []byte) (float64, error) {
	var f struct {
		Type     json.RawMessage `json:"type"`
		Position json.RawMessage `json:"position"`
	}
	// json.Unmarshal takes null for an empty object: only an object will do.
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' || json.Unmarshal(data, &f) != nil {
		return 0, errors.New("invalid JSON: expected an object like {\"type\":\"scroll\",\"position\":0.5}")
	}
	var typ string
	if len(f.Type) == 0 || json.Unmarshal(f.Type, &typ) != nil || typ == "" {
		return 0, errors.New(`missing or non-string "type"`)
	}
	if typ != "scroll" {
		if len(typ) > 32 || !utf8.ValidString(typ) {
			return 0, errors.New(`unknown message type (the only one is "scroll")`)
		}
		return 0, fmt.Errorf(`unknown message type %q (the only one is "scroll")`, typ)
	}
	var p float64
	if len(f.Position) == 0 || string(f.Position) == "null" || json.Unmarshal(f.Position, &p) != nil || p < 0 || p > 1 {
		return 0, errors.New(`"position" must be a number from 0 to 1`)
	}
	return roundPosition(p), nil
}

// scrollPrefix is how readtag's page and the load tool write a scroll.
const scrollPrefix = `{"type":"scroll","position":`

// decodeScrollFast reads the usual scroll frame, {"type":"scroll","position":P}
// with no spaces and P written as 0, 1, 0.ddd or 1.000, without
// encoding/json (25,000 of them a second on a hot post); anything else,
// valid or not, is left to decodeScroll's full parse.
func decodeScrollFast(data []byte) (float64, bool) {
	if len(data) < len(scrollPrefix)+2 || len(data) > len(scrollPrefix)+20 ||
		string(data[:len(scrollPrefix)]) != scrollPrefix || data[len(data)-1] != '}' {
		return 0, false
	}
	num := data[len(scrollPrefix) : len(data)-1]
	if num[0] != '0' && num[0] != '1' {
		return 0, false
	}
	if len(num) > 1 {
		if num[1] != '.' || len(num) < 3 {
			return 0, false
		}
		for _, c := range num[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
	}
	p, err := strconv.ParseFloat(string(num), 64)
	if err != nil || p > 1 {
		return 0, false
	}
	return roundPosition(p), true
}

// roundPosition keeps four decimals: a tenth of a line in a long post, and
// short frames.
func roundPosition(p float64) float64 { return math.Round(p*1e4) / 1e4 }

func appendReader(b []byte, r readtag.Reader) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"color":`...)
	b = appendString(b, r.Color)
	if r.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, r.Name)
	}
	b = append(b, `,"position":`...)
	b = appendPosition(b, r.Position)
	return append(b, '}')
}

// appendPosition writes p as strconv.AppendFloat(b, p, 'f', -1, 64) would.
// Positions have four decimals (roundPosition), which it writes from the
// integer p*1e4 without the float formatting; any other value goes to
// AppendFloat. (A float equal to n/1e4 has no shorter round-tripping
// decimal than n's digits, so the bytes are the same.)
func appendPosition(b []byte, p float64) []byte {
	n := math.Round(p * 1e4)
	if p <= 0 || p > 1 || n/1e4 != p { // 0 too: it may be -0
		return strconv.AppendFloat(b, p, 'f', -1, 64)
	}
	i := int(n)
	if i == 10000 {
		return append(b, '1')
	}
	frac := [4]byte{byte('0' + i/1000), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)}
	k := 4
	for frac[k-1] == '0' {
		k--
	}
	b = append(b, '0', '.')
	return append(b, frac[:k]...)
}

// bandsCache holds the encoding of the last bands slice seen: a room shares
// one slice among all its readers' crowd frames of a tick, so the writers
// encode it once a tick instead of once a frame. Keyed by the slice's first
// element, which the cache keeps alive, so the key cannot be reused.
var bandsCache atomic.Pointer[encodedBands]

type encodedBands struct {
	first *int
	n     int
	json  []byte
}

// appendBands writes the bands' counts, comma-separated.
func appendBands(b []byte, bands []int) []byte {
	if len(bands) == 0 {
		return b
	}
	if c := bandsCache.Load(); c != nil && c.first == &bands[0] && c.n == len(bands) {
		return append(b, c.json...)
	}
	enc := make([]byte, 0, 4*len(bands))
	for i, n := range bands {
		if i > 0 {
			enc = append(enc, ',')
		}
		enc = strconv.AppendInt(enc, int64(n), 10)
	}
	bandsCache.Store(&encodedBands{first: &bands[0], n: len(bands), json: enc})
	return append(b, enc...)
}

func appendWelcome(b []byte, you readtag.Reader, others []readtag.Reader, resume string) []byte {
	b = append(b, `{"type":"welcome","you":`...)
	b = appendReader(b, you)
	b = append(b, `,"readers":[`...)
	for i, r := range others {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReader(b, r)
	}
	b = append(b, ']')
	if resume != "" {
		b = append(b, `,"resume":`...)
		b = appendString(b, resume)
	}
	return append(b, '}')
}

// appendResume writes a resume frame: a fresh token for the same reader.
func appendResume(b []byte, token string) []byte {
	b = append(b, `{"type":"resume","resume":`...)
	b = appendString(b, token)
	return append(b, '}')
}

func appendJoin(b []byte, r readtag.Reader) []byte {
	b = append(b, `{"type":"join","reader":`...)
	b = appendReader(b, r)
	return append(b, '}')
}

func appendLeave(b []byte, id string) []byte {
	b = append(b, `{"type":"leave","id":`...)
	b = appendString(b, id)
	return append(b, '}')
}

// appendMoves writes a moves frame without the entries of skip (the
// receiving reader's own id). It reports false, writing nothing, when no
// entry is left.
func appendMoves(b []byte, moves []readtag.Move, skip string) ([]byte, bool) {
	start := len(b)
	b = append(b, `{"type":"moves","moves":[`...)
	n := 0
	for _, m := range moves {
		if m.ID == skip {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendMove(b, m)
		n++
	}
	if n == 0 {
		return b[:start], false
	}
	return append(b, "]}"...), true
}

// appendCrowd writes a crowd frame: the post's reader count, the density
// bands, and the changes to the readers this client is shown.
func appendCrowd(b []byte, u readtag.Crowd) []byte {
	b = append(b, `{"type":"crowd","total":`...)
	b = strconv.AppendInt(b, int64(u.Total), 10)
	b = append(b, `,"bands":[`...)
	b = appendBands(b, u.Bands)
	b = append(b, `],"leave":[`...)
	for i, id := range u.Leave {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, id)
	}
	b = append(b, `],"join":[`...)
	for i, r := range u.Join {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReader(b, r)
	}
	b = append(b, `],"moves":[`...)
	for i, m := range u.Moves {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMove(b, m)
	}
	return append(b, "]}"...)
}

func appendMove(b []byte, m readtag.Move) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"position":`...)
	b = appendPosition(b, m.Latest())
	return append(b, '}')
}

func appendError(b []byte, reason string) []byte {
	b = append(b, `{"type":"error","error":`...)
	b = appendString(b, reason)
	return append(b, '}')
}

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	if safeJSON(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(s)
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// safeJSON reports whether s can be written between quotes as is: no byte
// that encoding/json escapes (control bytes, '"', '\\', '<', '>', '&') and
// no byte of a multi-byte UTF-8 sequence (which it may escape or replace).
func safeJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonSafe[s[i]] {
			return false
		}
	}
	return true
}

// jsonSafe is safeJSON's table: one lookup a byte instead of seven compares
// (crowd frames of a hot post go out 50,000 a second, each with dozens of
// strings).
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
