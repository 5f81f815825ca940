package export

import (
	"context"
	"log/slog"
	"time"
)

// Every runs an export of src with opts every interval until ctx ends,
// skipping a tick when nothing was appended since the last run. Each run
// is logged. Cancelling ctx stops a run in progress (its files are
// removed; the previous snapshot stays valid) and returns.
func Every(ctx context.Context, src Source, interval time.Duration, opts Options, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "export", "dir", opts.Dir)
	t := time.NewTicker(interval)
	defer t.Stop()
	var last uint64
	exported := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		head := src.Head()
		if head == 0 || exported && head == last {
			// An empty store has nothing to export either: no empty
			// snapshot before the first event.
			logger.Debug("periodic export skipped: nothing new", "position", head)
			continue
		}
		sum, err := Run(ctx, src, opts)
		if ctx.Err() != nil {
			logger.Info("periodic export stopped by shutdown")
			return
		}
		if err != nil {
			logger.Error("periodic export failed", "err", err)
			continue
		}
		exported, last = true, sum.ToPosition
		logger.Info("periodic export", "events", sum.Events, "files", sum.Files, "bytes", sum.Bytes,
			"from_position", sum.FromPosition, "to_position", sum.ToPosition, "seconds", sum.Seconds, "up_to_date", sum.UpToDate)
	}
}
