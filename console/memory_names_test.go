package console

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// userCellRE reads the memory table's User cells, which link to the
// user's events: the text shown, markup and attributes (where the subject
// stays, as a title) left out.
var userCellRE = regexp.MustCompile(`<td class="words"><a href="[^"]*user=[^"]*"[^>]*>([^<]*)`)

// TestMemoryNamesUsersAndKeys: the memory list and an event's page name
// members and API keys (revoked ones too), not by their subjects; and mark
// an answer its client stopped.
func TestMemoryNamesUsersAndKeys(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner, bea := m.user("owner"), m.user("bea")
	team := m.team("names", owner)
	m.member(team, bea, tenants.RoleMember)
	ctx := testCtx(t)
	key, _, err := m.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "ci-bot"})
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := m.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "retired-bot"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.store.RevokeAPIKey(ctx, team.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	stopped, _ := json.Marshal(map[string]any{"status": 200, "stopped": true})
	k1 := m.add(team, attach.Event{User: attach.SubjectPrefixAPIKey + key.ID, Kind: attach.KindResponse, Content: "key answer, stopped", Metadata: stopped})
	k2 := m.add(team, attach.Event{User: attach.SubjectPrefixAPIKey + old.ID, Content: "old key note"})
	b1 := m.add(team, attach.Event{User: attach.UserSubject(bea.ID), Content: "bea's note"})

	p := m.signedIn(owner).get(Base + "/t/names/memory")
	wantStatus(t, p, http.StatusOK)
	wantRows(t, p, b1, k2, k1)
	var cells []string
	for _, c := range userCellRE.FindAllStringSubmatch(p.Body, -1) {
		cells = append(cells, c[1])
	}
	if want := []string{"User bea", "retired-bot (API key)", "ci-bot (API key)"}; len(cells) < 3 || cells[0] != want[0] || cells[1] != want[1] || cells[2] != want[2] {
		t.Fatalf("user cells %q, want %q", cells, want)
	}
	if n := len(regexp.MustCompile(`data-testid="stopped"`).FindAllString(p.Body, -1)); n != 1 {
		t.Errorf("%d rows marked stopped, want 1", n)
	}

	p = m.signedIn(owner).get(Base + "/t/names/memory/" + k1.ID)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "ci-bot (API key)", `data-testid="event-stopped"`)
	p = m.signedIn(owner).get(Base + "/t/names/memory/" + b1.ID)
	wantContains(t, p, "User bea")
	wantLacks(t, p, `data-testid="event-stopped"`)
}

// TestChatShowsTheUsersName: the chat page names the signed-in user; the
// subject the engine sees is filled in beside it by the script.
func TestChatShowsTheUsersName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("cleo")
	e.team("chat-names", u)
	p := e.signedIn(u).get(Base + "/t/chat-names/chat")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<span id="chat-user" data-testid="chat-user">User cleo</span>`, `id="chat-subject"`)
}
