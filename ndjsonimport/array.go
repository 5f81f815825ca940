package ndjsonimport

import (
	"errors"
	"fmt"
)

// ErrEmptyArray is returned by ParseArray for "[]".
var ErrEmptyArray = errors.New("the array of events is empty")

// ElementError is a problem with one element of an array body.
type ElementError struct {
	Index int // 0-based
	Err   error
}

func (e *ElementError) Error() string { return fmt.Sprintf("event %d: %v", e.Index, e.Err) }
func (e *ElementError) Unwrap() error { return e.Err }

// ParseArray decodes an EventStoreDB-style append body, a JSON array of
// event objects
//
//	[{"eventId":"<uuid>","eventType":"ItemAdded","data":<JSON>,"metadata":<JSON>}, ...]
//
// calling fn with each element in order. It uses the scanner of ParseLine,
// so the body is validated and split in one pass and Data and Metadata are
// valid JSON values (aliasing body). The elements follow ParseLine's rules
// except that "stream" is not required (Line.Stream is left empty: the
// stream comes from the URL). A syntax error anywhere in the body is
// reported as it is met, after fn has seen the elements before it: a
// caller that writes all or nothing collects the elements and acts once
// ParseArray succeeds. scratch is returned grown.
func ParseArray(body []byte, scratch []byte, fn func(i int, l *Line) error) ([]byte, error) {
	body = trimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		if len(body) == 0 || !validJSON(body) {
			return scratch, syntaxError(body)
		}
		return scratch, fmt.Errorf("the body is a JSON %s, not an array", kind(body[0]))
	}
	i := skipSpace(body, 1)
	if i < len(body) && body[i] == ']' {
		if i+1 != len(body) {
			return scratch, syntaxError(body)
		}
		return scratch, ErrEmptyArray
	}
	var l Line
	for n := 0; ; n++ {
		if i >= len(body) {
			return scratch, syntaxError(body)
		}
		if body[i] != '{' {
			if _, ok := scanValue(body, i, 1); !ok {
				return scratch, syntaxError(body)
			}
			return scratch, &ElementError{Index: n, Err: fmt.Errorf("a JSON %s, not an object", kind(body[i]))}
		}
		f, end, err := scanEventObject(body, i)
		if err != nil {
			return scratch, syntaxError(body)
		}
		l = Line{}
		if scratch, err = f.decode(body, &l, scratch[:0]); err != nil {
			return scratch, &ElementError{Index: n, Err: err}
		}
		if err := fn(n, &l); err != nil {
			return scratch, err
		}
		if i = skipSpace(body, end); i >= len(body) {
			return scratch, syntaxError(body)
		}
		switch body[i] {
		case ']':
			if i+1 != len(body) {
				return scratch, syntaxError(body)
			}
			return scratch, nil
		case ',':
			i = skipSpace(body, i+1)
		default:
			return scratch, syntaxError(body)
		}
	}
}
