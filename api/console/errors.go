package console

import (
	"errors"
	"net/http"

	"github.com/nurture-email/nurture"
)

// errorStatus is the status and the message to show for err: a domain
// error says what was wrong; anything else is an internal error whose
// details stay in the log.
func errorStatus(err error) (int, string) {
	var de *nurture.Error
	if !errors.As(err, &de) {
		return http.StatusInternalServerError, "Something went wrong on our side; it has been logged. Try again in a moment."
	}
	msg := de.Message
	if de.Field != "" {
		msg = de.Field + ": " + msg
	}
	switch de.Code {
	case nurture.CodeInvalid:
		return http.StatusBadRequest, msg
	case nurture.CodeUnprocessable:
		return http.StatusUnprocessableEntity, msg
	case nurture.CodeNotFound:
		return http.StatusNotFound, msg
	case nurture.CodeConflict:
		return http.StatusConflict, msg
	case nurture.CodeForbidden:
		return http.StatusForbidden, msg
	case nurture.CodeUnavailable:
		return http.StatusServiceUnavailable, msg
	}
	return http.StatusInternalServerError, "Something went wrong on our side; it has been logged. Try again in a moment."
}
