package export

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestPagePool: buffers keep what was written across chunk boundaries,
// read back with Read and WriteTo after a seek to the start; chunks of a
// returned buffer are reused; a released pool refuses writes.
func TestPagePool(t *testing.T) {
	p := &pagePool{}
	src := rand.NewChaCha8([32]byte{1})
	rng := rand.New(src)
	for round := range 3 {
		var bufs []io.ReadWriteSeeker
		var want [][]byte
		for i := range 5 {
			b := p.GetBuffer()
			if _, err := b.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			var all []byte
			for range 1 + i*7 {
				page := make([]byte, rng.IntN(3*pageChunkSize/2))
				src.Read(page)
				if n, err := b.Write(page); n != len(page) || err != nil {
					t.Fatalf("write: %d, %v", n, err)
				}
				all = append(all, page...)
			}
			bufs, want = append(bufs, b), append(want, all)
		}
		for i, b := range bufs {
			if end, _ := b.Seek(0, io.SeekEnd); end != int64(len(want[i])) {
				t.Fatalf("size %d, want %d", end, len(want[i]))
			}
			b.Seek(0, io.SeekStart)
			var got bytes.Buffer
			if i%2 == 0 {
				_, err := io.Copy(&got, b) // WriteTo
				if err != nil {
					t.Fatal(err)
				}
			} else {
				small := make([]byte, 1000)
				for {
					n, err := b.Read(small)
					got.Write(small[:n])
					if errors.Is(err, io.EOF) {
						break
					}
				}
			}
			if !bytes.Equal(got.Bytes(), want[i]) {
				t.Fatalf("round %d buffer %d: read back %d bytes that differ from the %d written", round, i, got.Len(), len(want[i]))
			}
			p.PutBuffer(b)
		}
		if len(p.slabs) != 1 {
			t.Fatalf("round %d: %d slabs (chunks not reused)", round, len(p.slabs))
		}
	}
	b := p.GetBuffer()
	p.release()
	if _, err := b.Write([]byte("x")); !errors.Is(err, errPagePoolReleased) {
		t.Fatalf("write after release: %v", err)
	}
}
