package a2a

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	attach "github.com/attach-dev/attach-gateway"
)

func TestResolveTarget(t *testing.T) {
	agents := func(name string) bool { return name == "coder" }
	def := SeedScope{PublicURL: "https://gw.example.com", TeamSlug: "default", DefaultTeam: true, HasAgent: agents}
	lab := SeedScope{PublicURL: "https://gw.example.com/attach", TeamSlug: "lab", HasAgent: agents}
	ok := []struct {
		scope  SeedScope
		target string
		want   SeedTarget
	}{
		{def, "", SeedTarget{TargetEngine, "/api/chat"}},
		{def, "/api/chat", SeedTarget{TargetEngine, "/api/chat"}},
		{def, "https://gw.example.com/v1/chat/completions", SeedTarget{TargetEngine, "/v1/chat/completions"}},
		{def, "https://GW.example.com:443/t/default/api/generate", SeedTarget{TargetEngine, "/api/generate"}},
		{def, "/a2a/coder", SeedTarget{TargetAgent, "coder"}},
		{def, "https://gw.example.com/t/default/a2a/coder", SeedTarget{TargetAgent, "coder"}},
		{lab, "https://gw.example.com/attach/t/lab/a2a/coder", SeedTarget{TargetAgent, "coder"}},
		{lab, "/t/lab/api/chat", SeedTarget{TargetEngine, "/api/chat"}},
	}
	for _, c := range ok {
		got, err := ResolveTarget(c.target, c.scope)
		if err != nil || got != c.want {
			t.Errorf("%s (team %s): %+v, %v; want %+v", c.target, c.scope.TeamSlug, got, err, c.want)
		}
	}
	refused := []struct {
		scope  SeedScope
		target string
	}{
		{def, "http://gw.example.com/api/chat"},        // another scheme
		{def, "https://gw.example.com:8443/api/chat"},  // another port
		{def, "https://evil.example.com/api/chat"},     // another host
		{def, "http://169.254.169.254/"},               // metadata
		{def, "http://127.0.0.1:11434/api/chat"},       // an engine's own address
		{def, "/t/other/api/chat"},                     // another team
		{def, "/a2a/planner"},                          // no such agent
		{def, "/a2a/coder/extra"},                      // not an agent's route
		{def, "/api/tags"},                             // takes no request
		{def, "/admin/v1/teams"},                       // not an engine route
		{def, "/a2a/../api/chat"},                      // not clean
		{def, "//evil.example.com/api/chat"},           // another host, scheme-relative
		{def, "https://u:p@gw.example.com/api/chat"},   // credentials
		{def, "https://gw.example.com/api/chat?x=1"},   // query
		{def, "api/chat"},                              // relative
		{def, "mailto:x@example.com"},                  // opaque
		{lab, "/api/chat"},                             // the default team's route
		{lab, "/a2a/coder"},                            // the default team's agent
		{lab, "https://gw.example.com/t/lab/api/chat"}, // outside the public prefix
		{lab, "https://gw.example.com/attachx/t/lab/api/chat"},
	}
	for _, c := range refused {
		_, err := ResolveTarget(c.target, c.scope)
		if e := attach.AsError(err); e == nil || e.Code != attach.CodeInvalid || e.Field != "target_url" {
			t.Errorf("%s (team %s): %v, want refused", c.target, c.scope.TeamSlug, err)
		}
	}
}

func TestEngineBody(t *testing.T) {
	for _, c := range []struct{ route, input, want string }{
		{"/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`,
			`{"messages":[{"role":"user","content":"hi"}],"model":"m","stream":false}`},
		{"/api/chat", `{"text":"hi"}`, `{"messages":[{"content":"hi","role":"user"}],"stream":false}`},
		{"/v1/chat/completions", `{"message":"hi","model":"m"}`, `{"messages":[{"content":"hi","role":"user"}],"model":"m","stream":false}`},
		{"/api/generate", `{"text":"hi"}`, `{"prompt":"hi","stream":false}`},
	} {
		got, err := EngineBody(c.route, json.RawMessage(c.input))
		if err != nil || string(got) != c.want {
			t.Errorf("%s %s: %s, %v; want %s", c.route, c.input, got, err, c.want)
		}
	}
	for _, in := range []string{`"hi"`, `[]`, `{"model":"m"}`, `{"text":1}`} {
		if _, err := EngineBody("/api/chat", json.RawMessage(in)); attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("%s: %v, want invalid", in, err)
		}
	}
}

func TestAgentMessage(t *testing.T) {
	for _, c := range []struct{ input, text, data string }{
		{`{"text":"plan it"}`, "plan it", ""},
		{`{"message":"plan it"}`, "plan it", ""},
		{`{"messages":[{"role":"user","content":"plan it"}]}`, "plan it", ""},
		{`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"plan it"}]}`, "system: be brief\nuser: plan it", ""},
		{`{"message":{"taskId":"x","parts":[{"kind":"text","text":"plan it"}]}}`, "plan it", ""},
		{`{"mem_id":"abc"}`, "", `{"mem_id":"abc"}`},
	} {
		b, err := AgentMessage(json.RawMessage(c.input))
		if err != nil {
			t.Fatalf("%s: %v", c.input, err)
		}
		var m struct {
			Kind, Role, MessageID, TaskID string
			Parts                         []struct {
				Kind, Text string
				Data       json.RawMessage
			}
		}
		if err := json.Unmarshal(b, &m); err != nil || m.Kind != "message" || m.Role != "user" || m.MessageID == "" || m.TaskID != "" || len(m.Parts) != 1 {
			t.Fatalf("%s: %s", c.input, b)
		}
		if c.data != "" {
			if m.Parts[0].Kind != "data" || string(m.Parts[0].Data) != c.data {
				t.Errorf("%s: %s", c.input, b)
			}
		} else if m.Parts[0].Kind != "text" || m.Parts[0].Text != c.text {
			t.Errorf("%s: %s", c.input, b)
		}
	}
	if _, err := AgentMessage(json.RawMessage(`{"message":{"parts":"no"}}`)); attach.ErrorCode(err) != attach.CodeInvalid {
		t.Errorf("parts not a list: %v", err)
	}
}

func TestSeedRetryBacksOff(t *testing.T) {
	p := &seedRetry{base: time.Second, most: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		d := time.Until(p.NextRetry(&rivertype.JobRow{Attempt: attempt}))
		if d < want*85/100 || d > want*115/100 {
			t.Errorf("attempt %d: waits %s, want about %s", attempt, d, want)
		}
	}
}
