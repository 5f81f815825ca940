package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// typeMembership tells which positions hold events of one type, from the
// type's posting blocks, so a stream read filtered by type (ReadOptions.
// EventType) reads only those events: a join looking up the payments of
// an order stream reads its one PaymentReceived event, not the dozen
// others. A stream's positions come in order and a type's block covers
// many of them, so one decoded block answers for most of a stream.
type typeMembership struct {
	it     *pebble.Iterator
	prefix []byte
	block  []posting
	// [from, to] is the range of positions block answers for: from its
	// first key to just before the next block's.
	from, to uint64
	loaded   bool
}

func (s *Store) newTypeMembership(eventType string) (*typeMembership, error) {
	p := postingPrefix(prefixTypePost, eventType)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixUpperBound(p)})
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return &typeMembership{it: it, prefix: p}, nil
}

// has reports whether the event at position pos is of the type.
func (m *typeMembership) has(pos uint64) (bool, error) {
	if !m.loaded || pos < m.from || pos > m.to {
		if err := m.load(pos); err != nil {
			return false, err
		}
	}
	i := sort.Search(len(m.block), func(k int) bool { return m.block[k].Pos >= pos })
	return i < len(m.block) && m.block[i].Pos == pos, nil
}

// load decodes the block covering pos and the range it answers for.
func (m *typeMembership) load(pos uint64) error {
	m.block, m.loaded = m.block[:0], true
	key := binary.BigEndian.AppendUint64(append([]byte(nil), m.prefix...), min(pos, math.MaxUint64-1)+1)
	if m.it.SeekLT(key) {
		var err error
		if m.block, err = decodePostingBlock(m.block, m.it.Value()); err != nil {
			return err
		}
		m.from = postingSeq(m.it.Key())
		if m.it.Next() {
			m.to = postingSeq(m.it.Key()) - 1
		} else {
			m.to = math.MaxUint64
		}
	} else {
		// Before the type's first block (or the type has none).
		m.from = 0
		if m.it.First() {
			m.to = postingSeq(m.it.Key()) - 1
		} else {
			m.to = math.MaxUint64
		}
	}
	if err := m.it.Error(); err != nil {
		return err
	}
	if m.to < pos { // blocks out of order: the index is damaged
		return errors.New("engine: type posting blocks out of order in the index")
	}
	return nil
}

func (m *typeMembership) close() error { return m.it.Close() }
