package app

import (
	"encoding/json"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// FuzzQuotasBody: a body the management API's PUT /quotas decodes is
// either refused with an invalid_field error naming a limit field, or
// parsed into limits that are all within bounds.
func FuzzQuotasBody(f *testing.F) {
	for _, s := range []string{
		`{"team":{"rpm":300}}`,
		`{"team":{"rpm":-1,"tpm":1e30}}`,
		`{"users":[{"subject":"*","tpm":2.5}],"keys":[{"key_id":"*","monthly_tokens":0}]}`,
		`{"team":{"tokens_per_day":"7"}}`,
		`{"keys":[{"key_id":"x","rpm":99999999999999999999999}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var w quotasWire
		if json.Unmarshal([]byte(body), &w) != nil {
			return // answered 400 invalid_json before parsing
		}
		q, err := w.parse()
		if err != nil {
			e := attach.AsError(err)
			if e == nil || e.Code != attach.CodeInvalid || !strings.Contains(e.Field, ".") {
				t.Fatalf("%s: %v", body, err)
			}
			return
		}
		check := func(l tenants.Limits) {
			for _, v := range []*int64{l.RPM, l.TPM, l.TokensPerDay, l.MonthlyTokens} {
				if v != nil && (*v < 0 || *v > tenants.MaxTokenLimit) {
					t.Fatalf("%s: limit %d out of bounds", body, *v)
				}
			}
			if l.RPM != nil && *l.RPM > tenants.MaxRPM {
				t.Fatalf("%s: rpm %d out of bounds", body, *l.RPM)
			}
		}
		check(q.Team)
		for _, u := range q.Users {
			check(u.Limits)
		}
		for _, k := range q.Keys {
			check(k.Limits)
		}
	})
}
