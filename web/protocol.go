package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/readtag/readtag"
)

// Wire protocol v1: JSON text frames, documented in docs/protocol.md.

// decodeScroll reads a client frame, which must be
// {"type":"scroll","position":P} with P a number in [0,1]. The error text is
// sent back to the client as is.
func decodeScroll(data []byte) (float64, error) {
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
	b = strconv.AppendFloat(b, r.Position, 'f', -1, 64)
	return append(b, '}')
}

func appendWelcome(b []byte, you readtag.Reader, others []readtag.Reader) []byte {
	b = append(b, `{"type":"welcome","you":`...)
	b = appendReader(b, you)
	b = append(b, `,"readers":[`...)
	for i, r := range others {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReader(b, r)
	}
	return append(b, "]}"...)
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
	for i, n := range u.Bands {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
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
	b = strconv.AppendFloat(b, m.Position, 'f', -1, 64)
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

func safeJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
