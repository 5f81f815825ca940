package engine

import gojson "github.com/goccy/go-json"

// validJSON reports whether b is one valid JSON value. goccy/go-json's
// validator runs at ~1.4 GB/s here against ~0.34 GB/s for encoding/json
// (docs/dependencies.md); FuzzValidJSONMatchesStd checks they agree.
func validJSON(b []byte) bool { return gojson.Valid(b) }
