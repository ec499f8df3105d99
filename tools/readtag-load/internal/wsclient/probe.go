package wsclient

import (
	"context"
	"errors"
)

// Probe opens one WebSocket to path on target with origin as its Origin
// header, then closes it at once: whether the server accepts such sockets
// at all, before a run opens thousands of them. status is the HTTP status
// of a refused upgrade (0 when the server never answered one).
func Probe(ctx context.Context, target, path, origin string) (status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	nc, _, _, err := dial(ctx, newDialer(nil), target, path, origin)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			return se.code, err
		}
		return 0, err
	}
	defer nc.Close()
	dl, _ := ctx.Deadline()
	_ = nc.SetWriteDeadline(dl)
	_, _ = nc.Write(appendFrame(nil, opClose, closePayload(closeNormal, "")))
	return 101, nil
}
