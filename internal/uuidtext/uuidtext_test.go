package uuidtext

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
)

func TestAppendIsUUIDString(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []uuid.UUID{{}, uuid.Max}
	for range 1000 {
		var id uuid.UUID
		for i := range id {
			id[i] = byte(rng.UintN(256))
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if got, want := string(Append([]byte("x"), id)), "x"+id.String(); got != want {
			t.Fatalf("Append(%x) = %q, want %q", id[:], got, want)
		}
	}
}

// BenchmarkAppend compares Append with the hex.Encode version it
// replaced in httpfront and export.
func BenchmarkAppend(b *testing.B) {
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	dst := make([]byte, 0, 64)
	b.Run("uuidtext", func(b *testing.B) {
		for b.Loop() {
			dst = Append(dst[:0], id)
		}
	})
	b.Run("hex.Encode", func(b *testing.B) {
		for b.Loop() {
			var buf [36]byte
			hex.Encode(buf[0:8], id[0:4])
			buf[8] = '-'
			hex.Encode(buf[9:13], id[4:6])
			buf[13] = '-'
			hex.Encode(buf[14:18], id[6:8])
			buf[18] = '-'
			hex.Encode(buf[19:23], id[8:10])
			buf[23] = '-'
			hex.Encode(buf[24:], id[10:])
			dst = append(dst[:0], buf[:]...)
		}
	})
}
