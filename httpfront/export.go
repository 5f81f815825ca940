package httpfront

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/eventsql/eventsql/export"
)

// maxExportBody caps the JSON options of POST /export.
const maxExportBody = 64 << 10

// exportSnapshot handles POST /export (admin): a Parquet export of the
// store into a directory on the server (package export). Options come
// as a JSON body (export.Request) and/or query parameters of the same
// names (out, full, compact, types, category, since, until, compression,
// timestamps, rowGroupSize); query parameters win. 200 with the summary;
// 409 while another export runs, or when the directory holds another
// store's export or other filters.
func (s *Server) exportSnapshot(w http.ResponseWriter, r *http.Request) {
	src, ok := s.store.(export.Source)
	if !ok {
		writeError(w, s.logger, r, newError(http.StatusNotImplemented, "not_implemented", "this store does not support exports"))
		return
	}
	req, err := exportRequest(w, r)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	opts, err := req.Options()
	if err != nil {
		writeError(w, s.logger, r, newError(http.StatusBadRequest, "invalid_options", err.Error()))
		return
	}
	if !s.exporting.CompareAndSwap(false, true) {
		writeError(w, s.logger, r, newError(http.StatusConflict, "export_running", "an export is already running on this server; try again when it is done"))
		return
	}
	defer s.exporting.Store(false)
	opts.Version, opts.Build, opts.Logger = s.opts.Version, s.opts.Build, s.logger
	sum, err := export.Run(r.Context(), src, opts)
	if err != nil {
		if r.Context().Err() != nil {
			s.logger.Warn("export stopped: the client went away", "dir", req.Out, "err", err)
			return
		}
		e := exportError(err)
		if e.Status >= 500 {
			s.logger.Error("export failed", "dir", req.Out, "err", err)
		}
		writeError(w, s.logger, r, e)
		return
	}
	s.logger.Info("export done", "dir", sum.Dir, "events", sum.Events, "files", sum.Files, "bytes", sum.Bytes,
		"to_position", sum.ToPosition, "seconds", sum.Seconds)
	writeJSON(w, http.StatusOK, sum)
}

// exportRequest reads the JSON body (optional) and the query parameters.
func exportRequest(w http.ResponseWriter, r *http.Request) (export.Request, error) {
	var req export.Request
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxExportBody))
	if err != nil {
		return req, toAPIError(err)
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, newError(http.StatusBadRequest, "invalid_options", "export options: "+err.Error())
		}
	}
	q := r.URL.Query()
	str := func(name string, dst *string) {
		if v, ok := q[name]; ok {
			*dst = v[len(v)-1]
		}
	}
	boolean := func(name string, dst *bool) error {
		if v, ok := q[name]; ok {
			b, err := strconv.ParseBool(v[len(v)-1])
			if err != nil {
				return newError(http.StatusBadRequest, "invalid_options", fmt.Sprintf("%s=%q: want true or false", name, v[len(v)-1]))
			}
			*dst = b
		}
		return nil
	}
	str("out", &req.Out)
	str("category", &req.Category)
	str("since", &req.Since)
	str("until", &req.Until)
	str("compression", &req.Compression)
	str("timestamps", &req.Timestamps)
	if v, ok := q["types"]; ok {
		req.Types = v
	}
	if v, ok := q["datasets"]; ok {
		req.Datasets = v
	}
	if err := boolean("full", &req.Full); err != nil {
		return req, err
	}
	if err := boolean("compact", &req.Compact); err != nil {
		return req, err
	}
	if v := q.Get("rowGroupSize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return req, newError(http.StatusBadRequest, "invalid_options", fmt.Sprintf("rowGroupSize=%q: want a number of bytes", v))
		}
		req.RowGroupSize = n
	}
	return req, nil
}

// exportError maps export errors to HTTP.
func exportError(err error) *apiError {
	var (
		sm *export.StoreMismatchError
		fm *export.FilterMismatchError
		ff *export.ForeignFilesError
	)
	switch {
	case errors.Is(err, export.ErrInvalidOptions):
		return newError(http.StatusBadRequest, "invalid_options", err.Error())
	case errors.Is(err, export.ErrBusy):
		return newError(http.StatusConflict, "export_running", err.Error())
	case errors.As(err, &sm):
		return newError(http.StatusConflict, "store_mismatch", err.Error())
	case errors.As(err, &fm):
		return newError(http.StatusConflict, "filter_mismatch", err.Error())
	case errors.As(err, &ff):
		return newError(http.StatusConflict, "foreign_files", err.Error())
	case errors.Is(err, export.ErrBadManifest):
		return newError(http.StatusConflict, "bad_manifest", err.Error())
	}
	return newError(http.StatusInternalServerError, "export_failed", err.Error())
}
