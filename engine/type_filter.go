package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// typeMembership tells which positions hold events of one type, from the
// type's posting blocks, so a stream read filtered by type (ReadOptions.
// EventType) reads only those events: a join looking up the payments of
// an order stream reads its one PaymentReceived event, not the dozen
// others. A stream's positions come in order and a type's block covers
// many of them, so one block answers for most of a stream; decoded
// blocks are kept in the store's typeBlockCache, since the lookups of
// one join mostly need the same few blocks.
type typeMembership struct {
	s      *Store
	typ    string
	it     *pebble.Iterator // opened at the first block not in the cache
	prefix []byte
	cur    *typeBlock
}

// typeBlock is a decoded type posting block and the positions it answers
// for, [from, to]: from its first key to just before the next block's.
// Blocks never change once written, and new ones only hold positions
// above every existing one, so a block with a successor answers for its
// range for good; the type's last block answers up to its last posting.
type typeBlock struct {
	from, to uint64
	block    []posting
}

func (s *Store) newTypeMembership(eventType string) *typeMembership {
	return &typeMembership{s: s, typ: eventType, prefix: postingPrefix(prefixTypePost, eventType)}
}

// has reports whether the event at position pos is of the type.
func (m *typeMembership) has(pos uint64) (bool, error) {
	if m.cur == nil || pos < m.cur.from || pos > m.cur.to {
		if m.cur = m.s.typeBlocks.find(m.typ, pos); m.cur == nil {
			if err := m.load(pos); err != nil {
				return false, err
			}
		}
	}
	b := m.cur.block
	i := sort.Search(len(b), func(k int) bool { return b[k].Pos >= pos })
	return i < len(b) && b[i].Pos == pos, nil
}

// load reads the block covering pos from the index.
func (m *typeMembership) load(pos uint64) error {
	if m.it == nil {
		it, err := m.s.db.NewIter(&pebble.IterOptions{LowerBound: m.prefix, UpperBound: prefixUpperBound(m.prefix)})
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		m.it = it
	}
	tb := &typeBlock{}
	last := false
	key := binary.BigEndian.AppendUint64(append([]byte(nil), m.prefix...), min(pos, math.MaxUint64-1)+1)
	if m.it.SeekLT(key) {
		var err error
		if tb.block, err = decodePostingBlock(nil, m.it.Value()); err != nil {
			return err
		}
		tb.from = postingSeq(m.it.Key())
		if m.it.Next() {
			tb.to = postingSeq(m.it.Key()) - 1
		} else {
			tb.to, last = tb.block[len(tb.block)-1].Pos, true
		}
	} else if m.it.First() {
		// Before the type's first block.
		tb.to = postingSeq(m.it.Key()) - 1
	} else {
		tb.to, last = 0, true // the type has no events
	}
	if err := m.it.Error(); err != nil {
		return err
	}
	if tb.to < tb.from {
		return errors.New("engine: type posting blocks out of order in the index")
	}
	m.s.typeBlocks.add(m.typ, tb)
	if last {
		// Nothing of the type lies past the last block in this read's
		// snapshot (the index iterator's): answer for it here, not in
		// the cache.
		tb = &typeBlock{from: tb.from, to: math.MaxUint64, block: tb.block}
	}
	m.cur = tb
	return nil
}

func (m *typeMembership) close() error {
	if m.it == nil {
		return nil
	}
	return m.it.Close()
}

// typeBlockCache keeps recently decoded type posting blocks, ordered by
// position per type, up to maxCachedTypePostings postings in all (then
// it starts over).
type typeBlockCache struct {
	mu       sync.Mutex
	types    map[string][]*typeBlock // sorted by from; ranges disjoint
	postings int
}

const maxCachedTypePostings = 1 << 16 // ~1 MiB

// find returns the cached block whose range holds pos, or nil.
func (c *typeBlockCache) find(typ string, pos uint64) *typeBlock {
	c.mu.Lock()
	defer c.mu.Unlock()
	bs := c.types[typ]
	i := sort.Search(len(bs), func(k int) bool { return bs[k].from > pos }) - 1
	if i >= 0 && pos <= bs[i].to {
		return bs[i]
	}
	return nil
}

// add caches tb unless a block with its range start is there already.
func (c *typeBlockCache) add(typ string, tb *typeBlock) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.types == nil || c.postings+len(tb.block) > maxCachedTypePostings {
		c.types, c.postings = map[string][]*typeBlock{}, 0
	}
	bs := c.types[typ]
	i := sort.Search(len(bs), func(k int) bool { return bs[k].from >= tb.from })
	if i < len(bs) && bs[i].from == tb.from {
		// The type's last block, cached before it had a successor.
		c.postings -= len(bs[i].block)
		bs[i] = tb
	} else {
		bs = append(bs, nil)
		copy(bs[i+1:], bs[i:])
		bs[i] = tb
	}
	c.types[typ] = bs
	c.postings += len(tb.block)
}
