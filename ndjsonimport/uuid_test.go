package ndjsonimport

import (
	"testing"

	"github.com/google/uuid"
)

// TestParseUUIDMatchesUUIDPackage: the fast path agrees with uuid.Parse
// on valid ids in every case and form, and on damaged ones.
func TestParseUUIDMatchesUUIDPackage(t *testing.T) {
	in := []string{
		"5800b372-94eb-458a-8581-821eb2b119d6", "5800B372-94EB-458A-8581-821EB2B119D6", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "{5800b372-94eb-458a-8581-821eb2b119d6}", "urn:uuid:5800b372-94eb-458a-8581-821eb2b119d6",
		"5800b37294eb458a8581821eb2b119d6", "5800b372-94eb-458a-8581-821eb2b119d", "5800b372x94eb-458a-8581-821eb2b119d6",
		"5800b372-94eb-458a-8581-821eb2b119dg", "g800b372-94eb-458a-8581-821eb2b119d6", "5800b372-94eb-458a-8581-821eb2b119d:",
		"5800b372-94eb-458a-8581-821eb2b119d/", "5800b372-94eb-458a-8581-821eb2b119d@", "5800b372-94eb-458a-8581-821eb2b119d`",
		"5800b372-94eb-458a-8581-821eb2b119d\xff", "5800b372-94eb-458a-8581-82-eb2b119d6", "",
	}
	for range 100 {
		in = append(in, uuid.NewString())
	}
	for _, s := range in {
		got, gotErr := parseUUID([]byte(s))
		want, wantErr := uuid.ParseBytes([]byte(s))
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("parseUUID(%q) = %v, %v; uuid.ParseBytes says %v, %v", s, got, gotErr, want, wantErr)
		}
	}
}
