package console

import (
	"encoding/json"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// servedModel is the model the engine said answered a response event, from
// its metadata's "served_model"; "" when the event does not say.
func servedModel(e attach.Event) string {
	if e.Kind != attach.KindResponse || len(e.Metadata) == 0 {
		return ""
	}
	var m struct {
		ServedModel string `json:"served_model"`
	}
	if json.Unmarshal(e.Metadata, &m) != nil {
		return ""
	}
	return m.ServedModel
}

// askedServed is the model an event asked for, followed by the one that
// served it when the engine answered under another name.
func askedServed(e attach.Event) string {
	served := servedModel(e)
	switch {
	case served == "":
		return e.Model
	case e.Model == "":
		return served
	case tenants.CanonicalModel(served) == tenants.CanonicalModel(e.Model):
		return e.Model
	}
	return e.Model + " → " + served
}
