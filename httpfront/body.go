package httpfront

import (
	"fmt"
	"io"
	"net/http"
)

// readBody reads a whole request body of at most limit bytes. When the
// client sends Content-Length the buffer is allocated once at that size
// (io.ReadAll would grow it by doubling, copying a 100-event body about
// ten times); a body over the limit is refused before it is read.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, newError(http.StatusBadRequest, "invalid_input",
			fmt.Sprintf("reading the request body (Content-Length %d): %v", r.ContentLength, err))
	}
	return buf, nil
}
