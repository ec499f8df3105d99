package wsclient

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// The tool speaks the client side of WebSocket (RFC 6455) itself. A library
// client reads each socket on its own goroutine through a buffered reader,
// which costs a goroutine wake-up and two read calls (the frame, then the
// EAGAIN before parking) for every frame; at 5,000 readers that was a third
// of the tool's CPU, taken from the machine the server runs on. With the
// protocol here the tool can read many sockets from one epoll loop instead
// (sock_linux.go). What it needs is small: the upgrade handshake, masked
// frames out, and unmasked frames in, possibly fragmented.

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// Close codes the tool uses or reports.
const (
	closeNormal   = 1000
	closeNoStatus = 1005 // a close frame without a code
)

var (
	// errBadHandshake: the server answered 101 but not as a WebSocket server.
	errBadHandshake = errors.New("bad handshake")
	// errReadLimit: a message over maxFrame.
	errReadLimit = errors.New("frame over the tool's read limit")
	// errDropped: the server closed the socket without a close frame.
	errDropped = errors.New("dropped without a close frame")
	// errWouldBlock: a write that must not wait found the socket full.
	errWouldBlock = errors.New("socket send buffer full")
)

// statusError is a handshake answered with something other than 101.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

// closeError is the server's close frame.
type closeError struct {
	code int
	text string
}

func (e *closeError) Error() string { return fmt.Sprintf("close %d: %s", e.code, e.text) }

// protocolError is a frame the tool cannot accept from a server.
type protocolError struct{ what string }

func (e *protocolError) Error() string { return "bad frame: " + e.what }

// timeoutError is a deadline the tool set itself (the welcome's).
type timeoutError struct{ what string }

func (e *timeoutError) Error() string   { return e.what }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxHandshake bounds the server's 101 answer.
const maxHandshake = 8 << 10

// upgrade sends the WebSocket upgrade request for path on nc (with an
// Origin header unless origin is "") and reads the answer. It returns the bytes that followed the answer (frames the server
// sent at once, such as the welcome), which belong to the frame stream.
// nc's deadline is set from ctx and cleared on return.
func upgrade(ctx context.Context, nc net.Conn, host, path, origin string) (rest []byte, err error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() && err == nil {
			err = ctx.Err()
		}
		_ = nc.SetDeadline(time.Time{})
	}()
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(nonce[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, host...)
	if origin != "" {
		req = append(req, "\r\nOrigin: "...)
		req = append(req, origin...)
	}
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	req = append(req, key...)
	req = append(req, "\r\n\r\n"...)
	if _, err := nc.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxHandshake {
				return nil, errBadHandshake
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if end := bytes.Index(buf, []byte("\r\n\r\n")); end >= 0 {
			if err := checkUpgrade(buf[:end], key); err != nil {
				return nil, err
			}
			if rest := buf[end+4:]; len(rest) > 0 {
				return bytes.Clone(rest), nil
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkUpgrade checks the server's answer (without its final blank line) to
// an upgrade request sent with key.
func checkUpgrade(head []byte, key string) error {
	line, headers, _ := bytes.Cut(head, []byte("\r\n"))
	// HTTP/1.1 101 Switching Protocols
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 {
		return errBadHandshake
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || (len(rest) > 3 && rest[3] != ' ') {
		return errBadHandshake
	}
	if code != 101 {
		return &statusError{code: code}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	want := base64.StdEncoding.EncodeToString(sum[:])
	var upgraded, accepted bool
	for len(headers) > 0 {
		var h []byte
		h, headers, _ = bytes.Cut(headers, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return errBadHandshake
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgraded = bytes.EqualFold(value, []byte("websocket"))
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			accepted = string(value) == want
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			return errBadHandshake // none was offered
		}
	}
	if !upgraded || !accepted {
		return errBadHandshake
	}
	return nil
}

// tlsRoots are the CAs an https target's certificate must chain to; nil
// means the system's (tests set their own).
var tlsRoots *x509.CertPool

// dialTLS wraps nc for an https target.
func dialTLS(ctx context.Context, nc net.Conn, host string) (net.Conn, error) {
	name, _, err := net.SplitHostPort(host)
	if err != nil {
		name = host
	}
	tc := tls.Client(nc, &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12, RootCAs: tlsRoots})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// appendFrame appends one client frame (FIN set, masked as a client must)
// with opcode op and payload p.
func appendFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, p...)
	for i := range b[start:] {
		b[start+i] ^= key[i&3]
	}
	return b
}

// closePayload is a close frame's payload: the code, then the reason.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// decoder splits the bytes a server sends into frames and reassembles
// fragmented messages. It keeps a partial frame between reads.
type decoder struct {
	rest  []byte // the start of a frame whose end has not arrived
	msg   []byte // a fragmented message so far
	frag  bool   // msg holds the start of a fragmented message
	op    byte   // that message's opcode
	limit int    // the largest message accepted
}

// decode parses data, after what was left from earlier calls, and calls fn
// with each complete message (text or binary) and control frame. payload is
// valid only during the call. An error from fn, or a malformed frame, ends
// decoding with that error; the decoder must not be used after it.
func (d *decoder) decode(data []byte, fn func(op byte, payload []byte) error) error {
	src := data
	if len(d.rest) > 0 {
		d.rest = append(d.rest, data...)
		src = d.rest
	}
	for len(src) >= 2 {
		b0, b1 := src[0], src[1]
		if b0&0x70 != 0 {
			return &protocolError{"reserved bits set (no extension was negotiated)"}
		}
		if b1&0x80 != 0 {
			return &protocolError{"masked frame from the server"}
		}
		h, n := 2, uint64(b1&0x7f)
		switch n {
		case 126:
			if len(src) < 4 {
				goto partial
			}
			h, n = 4, uint64(binary.BigEndian.Uint16(src[2:4]))
		case 127:
			if len(src) < 10 {
				goto partial
			}
			h, n = 10, binary.BigEndian.Uint64(src[2:10])
			if n>>63 != 0 {
				return &protocolError{"length with its top bit set"}
			}
		}
		fin, op := b0&0x80 != 0, b0&0x0f
		if op >= opClose && (!fin || n > 125) {
			return &protocolError{"fragmented or long control frame"}
		}
		if n > uint64(d.limit) || (op == opContinuation && uint64(len(d.msg))+n > uint64(d.limit)) {
			return errReadLimit
		}
		if uint64(len(src)-h) < n {
			goto partial
		}
		p := src[h : h+int(n)]
		src = src[h+int(n):]
		var err error
		switch op {
		case opText, opBinary:
			if d.frag {
				return &protocolError{"a new message inside a fragmented one"}
			}
			if fin {
				err = fn(op, p)
			} else {
				d.frag, d.op, d.msg = true, op, append(d.msg[:0], p...)
			}
		case opContinuation:
			if !d.frag {
				return &protocolError{"continuation without a message"}
			}
			d.msg = append(d.msg, p...)
			if fin {
				d.frag = false
				err = fn(d.op, d.msg)
				d.msg = d.msg[:0]
				if cap(d.msg) > 64<<10 {
					d.msg = nil
				}
			}
		case opClose, opPing, opPong:
			err = fn(op, p)
		default:
			return &protocolError{fmt.Sprintf("unknown opcode %#x", op)}
		}
		if err != nil {
			return err
		}
	}
partial:
	switch {
	case len(src) == 0:
		d.rest = d.rest[:0]
	case len(d.rest) > 0:
		// src is the tail of d.rest: move it to the front.
		d.rest = d.rest[:copy(d.rest, src)]
	default:
		d.rest = append(d.rest, src...)
	}
	if len(d.rest) == 0 && cap(d.rest) > 64<<10 {
		d.rest = nil
	}
	return nil
}

// parseClose reads a close frame's payload.
func parseClose(p []byte) (*closeError, error) {
	switch {
	case len(p) == 0:
		return &closeError{code: closeNoStatus}, nil
	case len(p) == 1:
		return nil, &protocolError{"close frame of one byte"}
	}
	return &closeError{code: int(binary.BigEndian.Uint16(p)), text: string(p[2:])}, nil
}
