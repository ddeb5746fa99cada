package tenants

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

const agentSecret = "a2a-credential-secret-9876"

// storedCredential reads an agent's sealed credential and opens it the way
// the directory does.
func storedCredential(t *testing.T, s *Store, agentID string) (sealed []byte, plain string) {
	t.Helper()
	if err := s.pool.QueryRow(testCtx(t), "SELECT credential_enc FROM agents WHERE id = $1", agentID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed == nil {
		return nil, ""
	}
	p, err := s.sealer.Open(sealed, agentAD(agentID))
	if err != nil {
		t.Fatalf("open stored credential: %v", err)
	}
	return sealed, string(p)
}

func TestAgentCRUD(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")

	a, err := s.CreateAgent(ctx, team.ID, AgentInput{Name: "planner", BaseURL: "https://agents.example/planner/", Credential: ptr(agentSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if a.BaseURL != "https://agents.example/planner" || a.Version != attach.A2AVersionAuto || a.CredentialLast4 != "9876" || a.Credential != "" {
		t.Fatalf("created = %+v", a)
	}
	sealed, plain := storedCredential(t, s, a.ID)
	if plain != agentSecret || bytes.Contains(sealed, []byte(agentSecret)) {
		t.Fatalf("stored credential = %q (sealed %x)", plain, sealed)
	}
	// Sealed for this agent: an engine's additional data does not open it.
	if _, err := s.sealer.Open(sealed, engineAD(a.ID)); err == nil {
		t.Fatal("the agent credential opens as an engine key")
	}
	if b, _ := json.Marshal(a); strings.Contains(string(b), agentSecret) {
		t.Fatalf("credential in JSON: %s", b)
	}

	if _, err := s.CreateAgent(ctx, team.ID, AgentInput{Name: "planner", BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate name: err = %v, want conflict", err)
	}
	if _, err := s.CreateAgent(ctx, other.ID, AgentInput{Name: "planner", BaseURL: "http://x", Version: "0.3"}); err != nil {
		t.Fatalf("same name on another team: %v", err)
	}

	got, err := s.GetAgent(ctx, team.ID, a.ID)
	if err != nil || got.Name != "planner" || got.Credential != "" {
		t.Fatalf("GetAgent = %+v, %v", got, err)
	}
	byName, err := s.GetAgentByName(ctx, team.ID, "planner")
	if err != nil || byName.ID != a.ID {
		t.Fatalf("GetAgentByName = %+v, %v", byName, err)
	}
	if _, err := s.GetAgent(ctx, other.ID, a.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("agent through another team: err = %v", err)
	}
	if _, err := s.GetAgentByName(ctx, team.ID, "nobody"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown name: err = %v", err)
	}

	// A fetched card is recorded; a failed fetch keeps it and says why.
	card := []byte(`{"name":"Planner","protocolVersion":"0.3.0","url":"https://agents.example/planner"}`)
	withCard, err := s.SetAgentCard(ctx, team.ID, a.ID, card, attach.A2AVersion03, "")
	if err != nil || withCard.CardVersion != "0.3" || withCard.CardError != "" || withCard.CardFetchedAt == nil || !withCard.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("card set = %+v, %v", withCard, err)
	}
	if withCard.SpokenVersion() != attach.A2AVersion03 {
		t.Fatalf("spoken version %q", withCard.SpokenVersion())
	}
	failed, err := s.SetAgentCard(ctx, team.ID, a.ID, nil, "", "connection refused")
	if err != nil || failed.CardError != "connection refused" || failed.CardVersion != "0.3" || len(failed.Card) == 0 {
		t.Fatalf("failed fetch = %+v, %v", failed, err)
	}
	if _, err := s.SetAgentCard(ctx, other.ID, a.ID, card, attach.A2AVersion03, ""); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("card through another team: err = %v", err)
	}
	if _, err := s.SetAgentCard(ctx, team.ID, a.ID, card, "auto", ""); !isValidation(err, "card_version") {
		t.Fatalf("card version auto: err = %v", err)
	}

	// nil credential keeps it; the same base URL keeps the card.
	upd, err := s.UpdateAgent(ctx, team.ID, a.ID, AgentInput{Name: "planner-2", BaseURL: "https://agents.example/planner", Version: "1.0"})
	if err != nil || upd.Name != "planner-2" || upd.Version != "1.0" || upd.CredentialLast4 != "9876" || upd.CardVersion != "0.3" {
		t.Fatalf("update keeping credential = %+v, %v", upd, err)
	}
	if _, p := storedCredential(t, s, a.ID); p != agentSecret {
		t.Fatalf("credential after keep = %q", p)
	}
	// A new base URL forgets the old card; "" removes the credential.
	upd, err = s.UpdateAgent(ctx, team.ID, a.ID, AgentInput{Name: "planner-2", BaseURL: "https://elsewhere.example", Credential: ptr("")})
	if err != nil || upd.CardVersion != "" || upd.Card != nil || upd.CardFetchedAt != nil || upd.CardError != "" || upd.CredentialLast4 != "" {
		t.Fatalf("update with new URL = %+v, %v", upd, err)
	}
	if sealed, _ := storedCredential(t, s, a.ID); sealed != nil {
		t.Fatal("credential still stored after clearing")
	}
	if _, err := s.UpdateAgent(ctx, other.ID, a.ID, AgentInput{Name: "x", BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("update through another team: err = %v", err)
	}
	if err := s.DeleteAgent(ctx, other.ID, a.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("delete through another team: err = %v", err)
	}
	if err := s.DeleteAgent(ctx, team.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgent(ctx, team.ID, a.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("second delete: err = %v", err)
	}
	if _, err := s.CreateAgent(ctx, "0190a1b2-0000-7000-8000-000000000000", AgentInput{Name: "x", BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("agent on missing team: err = %v", err)
	}
}

func TestAgentValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	ok := AgentInput{Name: "a", BaseURL: "http://127.0.0.1:9999"}
	with := func(f func(*AgentInput)) AgentInput { in := ok; f(&in); return in }
	cases := []struct {
		in    AgentInput
		field string
	}{
		{with(func(in *AgentInput) { in.Name = "" }), "name"},
		{with(func(in *AgentInput) { in.Name = "Planner" }), "name"},
		{with(func(in *AgentInput) { in.Name = "has space" }), "name"},
		{with(func(in *AgentInput) { in.Name = "dot.name" }), "name"},
		{with(func(in *AgentInput) { in.Name = "-lead" }), "name"},
		{with(func(in *AgentInput) { in.BaseURL = "" }), "base_url"},
		{with(func(in *AgentInput) { in.BaseURL = "agents.example" }), "base_url"},
		{with(func(in *AgentInput) { in.BaseURL = "ftp://agents.example" }), "base_url"},
		{with(func(in *AgentInput) { in.BaseURL = "https://user:pw@agents.example" }), "base_url"},
		{with(func(in *AgentInput) { in.BaseURL = "https://agents.example/?x=1" }), "base_url"},
		{with(func(in *AgentInput) { in.Version = "2.0" }), "version"},
		{with(func(in *AgentInput) { in.Version = "0.3.0" }), "version"},
		{with(func(in *AgentInput) { in.Credential = ptr("bad\nline") }), "credential"},
		{with(func(in *AgentInput) { in.Credential = ptr(strings.Repeat("x", 4097)) }), "credential"},
	}
	for _, c := range cases {
		if _, err := s.CreateAgent(ctx, team.ID, c.in); !isValidation(err, c.field) {
			t.Errorf("%+v: err = %v, want invalid %s", c.in, err, c.field)
		}
	}
	if list, _, err := s.ListAgents(ctx, team.ID, Page{}); err != nil || len(list) != 0 {
		t.Fatalf("refused agents were stored: %v, %v", list, err)
	}
}

func TestAgentsListAndAudit(t *testing.T) {
	t.Parallel()
	s, _, _, team := newTeamStore(t, "acme")
	u := mustUser(t, s, "ada@example.test")
	ctx := actorCtx(t, u)
	var ids []string
	for _, n := range []string{"a1", "a2", "a3"} {
		a, err := s.CreateAgent(ctx, team.ID, AgentInput{Name: n, BaseURL: "http://127.0.0.1:1", Credential: ptr(agentSecret)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	first, next, err := s.ListAgents(ctx, team.ID, Page{Limit: 2})
	if err != nil || len(first) != 2 || next == "" || first[0].Name != "a1" {
		t.Fatalf("first page %v, %q, %v", first, next, err)
	}
	second, next, err := s.ListAgents(ctx, team.ID, Page{Limit: 2, After: next})
	if err != nil || len(second) != 1 || next != "" || second[0].Name != "a3" {
		t.Fatalf("second page %v, %q, %v", second, next, err)
	}
	if _, err := s.UpdateAgent(ctx, team.ID, ids[0], AgentInput{Name: "a1", BaseURL: "http://127.0.0.1:2", Credential: ptr("another-secret-5555")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgent(ctx, team.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.TargetType != "agent" {
			continue
		}
		actions = append(actions, e.Action+":"+e.TargetName+":"+str(e.Detail["credential"]))
		if e.ActorID != u.ID {
			t.Errorf("%s by %q", e.Action, e.ActorName)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), agentSecret) || strings.Contains(string(b), "another-secret") {
			t.Errorf("audit entry holds the credential: %s", b)
		}
	}
	want := "agent.delete:a2:,agent.update:a1:set,agent.create:a3:set,agent.create:a2:set,agent.create:a1:set"
	if strings.Join(actions, ",") != want {
		t.Fatalf("audit = %v\nwant    %s", actions, want)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// The directory sees an agent, its credential in clear, once the change is
// announced, and a card fetched later.
func TestDirectoryFollowsAgents(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	s, pool, ctx, team := newTeamStore(t, "acme")
	d := runDirectory(t, pool, testSealer(t), logs)

	a, err := s.CreateAgent(ctx, team.ID, AgentInput{Name: "planner", BaseURL: "http://127.0.0.1:1", Credential: ptr(agentSecret)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		_, ok := snap.Agent("planner")
		return ok
	})
	snap, _ := d.Team("acme")
	got, _ := snap.Agent("planner")
	if got.ID != a.ID || got.Credential != agentSecret || got.SpokenVersion() != attach.A2AVersion03 {
		t.Fatalf("directory agent = %+v", got)
	}

	if _, err := s.SetAgentCard(ctx, team.ID, a.ID, []byte(`{"name":"p","supportedInterfaces":[]}`), attach.A2AVersion10, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		got, _ := snap.Agent("planner")
		return got.SpokenVersion() == attach.A2AVersion10
	})

	if err := s.DeleteAgent(ctx, team.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		_, ok := snap.Agent("planner")
		return !ok
	})
	if strings.Contains(logs.String(), agentSecret) {
		t.Fatal("the credential reached the log")
	}
}
