package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nurture-email/nurture"
)

// decodeStrict decodes exactly one JSON value from data into v.
func decodeStrict(data []byte, v any, allowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// typeError names the field of a JSON type mismatch.
func typeError(err error, prefix, fallback, want string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return nurture.FieldError(prefix+te.Field, "must be %s", jsonKind(te.Type.Kind().String()))
	}
	return nurture.FieldError(fallback, "must be %s", want)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// optionalTime reads an RFC 3339 time that a provider may leave out.
func optionalTime(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, nurture.FieldError(field, "must be an RFC 3339 date-time")
	}
	return t, nil
}

// tooMany is the error of a post past its limit of items.
func tooMany(limit int, what string) error {
	return &nurture.Error{Code: nurture.CodeTooLarge, Field: fmt.Sprintf("[%d]", limit),
		Message: fmt.Sprintf("is past the limit of %d %s a request: send the rest in another request", limit, what)}
}
