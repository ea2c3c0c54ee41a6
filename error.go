package nurture

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error for callers: the API maps it to an HTTP
// status, a task handler decides from it whether a retry can help.
type ErrorCode string

// The error codes every layer speaks.
const (
	CodeInvalid ErrorCode = "invalid"
	// CodeUnprocessable: well-formed input that means nothing valid (a
	// segment's filter that is not a condition); HTTP 422.
	CodeUnprocessable ErrorCode = "unprocessable"
	CodeNotFound      ErrorCode = "not_found"
	CodeConflict      ErrorCode = "conflict"
	CodeUnauthorized  ErrorCode = "unauthorized"
	CodeForbidden     ErrorCode = "forbidden"
	CodeRateLimited   ErrorCode = "rate_limited"
	CodeTooLarge      ErrorCode = "too_large"
	CodeUnavailable   ErrorCode = "unavailable"
	CodeInternal      ErrorCode = "internal"
)

// Error is the domain error: a code, a message fit for the person who made
// the request, and the field it concerns when there is one.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an invalid-input error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned by stores when the thing asked for does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldOf returns the field the first *Error in err's chain names, or ""
// when there is none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
