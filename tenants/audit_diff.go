package tenants

import (
	"encoding/json"
	"maps"
	"slices"
)

// auditChanges is the detail of an update's audit entry: the fields after
// the change, plus "changes" mapping each field that changed to its
// {"from", "to"} values, so the log reads as a diff. secret is the
// secret's marker ("set", "removed", "unchanged", "none" or ""); only
// "set" and "removed" count as changes. changed is false when nothing did:
// such an update writes no entry.
func auditChanges(before, after map[string]any, secretField, secret string) (detail map[string]any, changed bool) {
	detail = maps.Clone(after)
	changes := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if !sameValue(before[k], after[k]) {
			changes[k] = map[string]any{"from": before[k], "to": after[k]}
		}
	}
	if secret != "" {
		detail[secretField] = secret
		if secret != "unchanged" && secret != "none" {
			changes[secretField] = secret
		}
	}
	if len(changes) == 0 {
		return detail, false
	}
	detail["changes"] = changes
	return detail, true
}

// sameValue compares two audit values as their JSON: a nil list and an
// empty one are the same to a reader of the log.
func sameValue(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	norm := func(j []byte) string {
		if string(j) == "null" {
			return "[]"
		}
		return string(j)
	}
	return norm(ja) == norm(jb) || string(ja) == string(jb)
}
