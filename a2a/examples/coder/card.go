package coder

import (
	"encoding/json"
	"net/http"
)

// card serves the coder's A2A 1.0 agent card: one JSON-RPC interface at
// its own URL.
func (s *server) card(w http.ResponseWriter, _ *http.Request) {
	card := map[string]any{
		"name":        "attach coder",
		"description": "Reads a plan from the team's memory by mem_id and asks the team's engine for the code.",
		"supportedInterfaces": []map[string]string{
			{"url": s.cfg.URL, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
		},
		"version":            "1.0.0",
		"capabilities":       map[string]bool{"streaming": false, "pushNotifications": false},
		"defaultInputModes":  []string{"application/json", "text/plain"},
		"defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{
			"id":          "code",
			"name":        "Write code",
			"description": `Writes the code for the plan stored under {"mem_id": ...}.`,
			"tags":        []string{"demo", "code"},
			"examples":    []string{`{"mem_id": "..."}`},
		}},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(card)
}
