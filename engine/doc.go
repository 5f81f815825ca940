// Package engine is eventsql's storage engine: an append-only event log
// with stream, event-type and category indexes.
//
// Events are appended to streams with an expected version (optimistic
// concurrency) and are durable when an append returns: the log is
// fsynced, with concurrent appends sharing fsyncs (group commit). Every
// event gets a global, gapless position (the order of $all) and a version
// in its stream. Retrying an append with the same event ids is idempotent.
//
//	store, err := engine.Open(ctx, dir, engine.DefaultOptions())
//	res, err := store.Append(ctx, "cart-42", engine.ExpectNoStream,
//		engine.EventData{Type: "ItemAdded", Data: []byte(`{"sku":"A"}`), DataIsJSON: true})
//	it, err := store.ReadStream(ctx, "cart-42", 0, engine.ReadOptions{})
//
// Storage: the log is a sequence of segment files of CRC-framed records
// (docs/format.md), memory-mapped for reads. The indexes live in a Pebble
// database and are derived from the log: each index batch carries a
// checkpoint, Open re-indexes only the log after it, and a lost index is
// rebuilt. A torn tail is truncated on Open; damage inside the log is
// reported as a *CorruptionError, never skipped.
//
// Writes go through a three-stage pipeline (commit.go): the committer
// applies commands deterministically and writes them, the syncer fsyncs,
// the indexer indexes and publishes. Apply depends only on the command and
// the store's state, so stores fed the same commands end byte-identical,
// which is what replication will build on (Store.Apply).
//
// Errors: match sentinels with errors.Is (ErrInvalidInput,
// ErrWrongExpectedVersion, ErrStreamNotFound, ErrStreamDeleted,
// ErrDuplicateEventID, ErrCorrupt, ErrStoreFailed, ErrClosed, ErrLocked)
// and read details with errors.As on the typed errors.
package engine
