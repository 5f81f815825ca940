package httpfront

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAppendResponseMatchesEncoder(t *testing.T) {
	for _, r := range []appendResponse{
		{},
		{FirstPosition: 1, LastPosition: 1, NextExpectedVersion: 0},
		{FirstPosition: 41, LastPosition: 140, NextExpectedVersion: 99},
		{FirstPosition: math.MaxUint64, LastPosition: math.MaxUint64, NextExpectedVersion: math.MaxInt64},
		{NextExpectedVersion: -1},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		writeAppendResponse(rec, r)
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("%+v: body %q, encoding/json writes %q", r, got, want.String())
		}
		if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != contentJSON {
			t.Errorf("%+v: status %d, Content-Type %q", r, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

func TestMediaType(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{contentJSON, contentJSON, false},
		{contentEvents, contentEvents, false},
		{contentBinary, contentBinary, false},
		{"application/json; charset=utf-8", contentJSON, false},
		{"Application/JSON", contentJSON, false},
		{"text/plain", "text/plain", false},
		{"application/json; charset", "", true},
	} {
		got, err := mediaType(tt.in)
		if (err != nil) != tt.err || !tt.err && got != tt.want {
			t.Errorf("mediaType(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
