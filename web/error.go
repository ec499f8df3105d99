package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Error codes. Each maps to one HTTP status.
const (
	ENOTFOUND  = "not_found"
	EINVALID   = "invalid"
	EFORBIDDEN = "forbidden"
	EINTERNAL  = "internal"
	EBUSY      = "busy"     // a capacity limit of this node
	ETOOMANY   = "too_many" // a per-client limit
)

var codeStatus = map[string]int{
	ENOTFOUND:  http.StatusNotFound,
	EINVALID:   http.StatusBadRequest,
	EFORBIDDEN: http.StatusForbidden,
	EINTERNAL:  http.StatusInternalServerError,
	EBUSY:      http.StatusServiceUnavailable,
	ETOOMANY:   http.StatusTooManyRequests,
}

// Error is readtag's one error shape: a code that picks the status and a
// message that is safe to show to users. Err, if set, is the internal cause;
// it is logged and never shown.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error is the cause when there is one (the message for users often
// repeats it), else the message.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "Something went wrong on our side.", Err: err}
}

// handleError is the app's one ErrorHandler: it renders the error page with
// the status for the error's code, and logs only internal errors.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status, message := http.StatusInternalServerError, internal(err).Message
	var e *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &e):
		message = e.Message
		if st, ok := codeStatus[e.Code]; ok {
			status = st
		}
	case errors.As(err, &fe) && fe.Code == http.StatusNotFound:
		status, message = fe.Code, "There is no page at this address."
	case errors.As(err, &fe) && fe.Code < 500:
		status, message = fe.Code, fe.Message // 405, 426, …: Fiber's own checks
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if s.cfg.PresenceOnly {
		// No blog to frame the message: the blog's page would link to a
		// home page, a feed and style sheets this server does not have.
		return c.Status(status).Type("txt", "utf-8").SendString(message + "\n")
	}
	return s.render(c.Status(status), "error", page{
		Title:   http.StatusText(status),
		Status:  status,
		Message: message,
	})
}
