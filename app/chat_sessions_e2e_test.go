package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestConsoleE2EChatNewSessionStopAndNames: in the console's chat, "New
// chat" starts a new gateway session; a stopped answer is kept in memory
// as the page received it, marked stopped; the chat and the memory page
// name the user and an API key instead of showing their ids.
func TestConsoleE2EChatNewSessionStopAndNames(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng, gw, u, ui := signedInLab(t, "nia@example.test", "Nia Newchat", "", "tiny")
	ctx := context.Background()
	team, ok := gw.dir.Team("lab")
	if !ok {
		t.Fatal("no team lab")
	}

	ui.open(gw.URL + "/console/t/lab/chat")
	if got := ui.text("#chat-user"); got != "Nia Newchat" {
		t.Errorf("the chat names the user %q", got)
	}
	if got := ui.waitFilled("chat-subject", "—"); got != attach.UserSubject(u.ID) {
		t.Errorf("the chat shows subject %q", got)
	}

	ask := func(text, answer string) string {
		t.Helper()
		ui.fill("#chat-input", text)
		ui.click("#chat-send")
		ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"][last()]/span[@class="msg-text" and .="`+answer+`"]`)))
		ui.Do(t, chromedp.WaitEnabled(chromedp.CSS("#chat-send")))
		session := ui.waitFilled("chat-session", "—")
		if up, _ := eng.lastRequest(); up.Header.Get("X-Attach-Session") != session {
			t.Fatalf("the page shows session %q, the engine saw %q", session, up.Header.Get("X-Attach-Session"))
		}
		return session
	}
	first := ask("First question", "Hello!")
	if again := ask("Still the first chat", "Hello!"); again != first {
		t.Errorf("one chat went from session %q to %q", first, again)
	}
	ui.shot("01-first-chat")

	// New chat: a fresh log and, at the next message, a new session.
	ui.click("#chat-clear")
	if got := ui.text("#chat-session"); got != "—" {
		t.Errorf("after New chat the session shows %q", got)
	}
	second := ask("Second chat", "Hello!")
	if second == first {
		t.Fatalf("New chat kept session %q", first)
	}

	// Stop an answer midway: the engine holds after its first chunk.
	release := holdStreams(eng)
	defer release()
	ui.fill("#chat-input", "Stop me midway")
	ui.click("#chat-send")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"][last()]/span[@class="msg-text" and .="Hel"]`)))
	ui.click("#chat-stop")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"][last()]/span[@class="msg-text" and .="Hel [stopped]"]`)))
	ui.shot("02-stopped")
	var content string
	var stopped *bool
	pollUntil(t, 20*time.Second, "the stopped answer in memory", func() bool {
		err := gw.pool.QueryRow(ctx, `SELECT r.content, (r.metadata->>'stopped')::boolean FROM memory_events r
			JOIN memory_events p ON p.id::text = r.metadata->>'prompt_id'
			WHERE r.team_id = $1 AND r.kind = 'response' AND r.session = $2 AND p.content LIKE '%Stop me midway'`,
			team.Team.ID, second).Scan(&content, &stopped)
		return err == nil
	})
	release()
	if content != "Hel" || stopped == nil || !*stopped {
		t.Errorf("memory keeps the stopped answer as %q, stopped %v; the page received \"Hel\"", content, stopped)
	}

	// An API key's call, to be named on the memory page.
	_, secret, err := gw.store.CreateAPIKey(ctx, team.Team.ID, tenants.APIKeyInput{Name: "nightly-report"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", secret, chatBody)
		return resp.StatusCode == http.StatusOK
	})

	ui.open(gw.URL + "/console/t/lab/memory")
	pollUntil(t, 20*time.Second, "the key's events on the memory page", func() bool {
		ui.open(gw.URL + "/console/t/lab/memory")
		return strings.Contains(ui.text("#memory-table"), "nightly-report (API key)")
	})
	table := ui.text("#memory-table")
	if strings.Contains(table, attach.SubjectPrefixUser) || strings.Contains(table, attach.SubjectPrefixAPIKey) {
		t.Errorf("the memory page shows ids:\n%s", table)
	}
	if !strings.Contains(table, "Nia Newchat") {
		t.Errorf("the memory page does not name the user:\n%s", table)
	}
	if n := uiEval[int](ui, `document.querySelectorAll('[data-testid="stopped"]').length`); n != 1 {
		t.Errorf("%d answers marked stopped on the memory page, want 1", n)
	}
	ui.shot("03-memory-names")
}
