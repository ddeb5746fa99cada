package app

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// The console as a person uses it: a real Chromium, a real OIDC provider's
// login pages, the gateway serving on loopback, a recording engine behind it.

// mcpE2ECredential is the upstream credential the journey gives its MCP
// server: it must never come back in a page.
const mcpE2ECredential = "mcp-journey-credential-5150"

// TestConsoleE2ESSOJourney walks a new team admin from single sign-on to an
// agent calling the team's hosted gateway with a key minted in the console,
// and back out.
func TestConsoleE2ESSOJourney(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	ln := listenLoopback(t)
	public := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{
		RedirectURIs:           []string{public + "/console/sso/callback"},
		PostLogoutRedirectURIs: []string{public + "/console/signin?done=signed-out"},
	})
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.ConsoleOIDCIssuer = idp.Issuer()
	cfg.ConsoleOIDCClientID, cfg.ConsoleOIDCClientSecret = idp.LoginClient()
	gw := startGatewayOn(t, cfg, ln)
	ui := newConsoleUI(t)

	// Signed out, the console sends the browser to sign in.
	ui.open(gw.URL + "/console/")
	if p := ui.location().Path; p != "/console/signin" {
		t.Fatalf("signed out, the console went to %s", p)
	}
	ui.shot("01-signin")

	// The provider's own login and consent pages.
	ui.clickToLoad("#sso")
	if !strings.HasPrefix(ui.location().String(), idp.Issuer()) {
		t.Fatalf("single sign-on went to %s, not the provider", ui.location())
	}
	ui.fill(`input[name="login"]`, "ada")
	ui.fill(`input[name="password"]`, "any password")
	ui.clickToLoad(`button[type="submit"]`)
	ui.Do(t, chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)))
	resp := ui.clickToLoad(`button[type="submit"]`)

	// A new user lands in the console with no team yet.
	if resp.Status != 200 || ui.location().Path != "/console/teams" {
		t.Fatalf("after sign-in: status %d at %s", resp.Status, ui.location())
	}
	if who := ui.text(`[data-testid="current-user"]`); who != "Test User ada" {
		t.Errorf("signed in as %q, want the provider's name claim", who)
	}
	ui.waitVisible(`[data-testid="empty"]`)
	ui.shot("02-teams-new-user")

	// Create a team.
	ui.fill("#name", "Research Lab")
	ui.fill("#slug", "research")
	ui.clickToLoad("#create-team")
	if p := strings.TrimSuffix(ui.location().Path, "/"); p != "/console/t/research" {
		t.Fatalf("after creating the team the console is at %s", p)
	}
	if got := ui.text(`[data-testid="notice"]`); !strings.HasPrefix(got, "Team created.") {
		t.Errorf("notice after creating the team: %q", got)
	}
	if got, want := ui.text(`[data-testid="hosted-url"]`), gw.URL+"/t/research/"; got != want {
		t.Errorf("hosted URL shown %q, want %q", got, want)
	}
	ui.shot("03-gateway-new-team")

	// Register an engine at the test engine, then test it in place.
	ui.clickToLoad("#nav-engines")
	ui.clickToLoad("#new-engine")
	ui.fill("#name", "gpu-box")
	ui.fill("#base_url", eng.URL())
	ui.fill("#models", "tiny")
	ui.click("#default")
	ui.clickToLoad("#save-engine")
	if got := ui.text(`[data-testid="notice"]`); got != "Engine registered." {
		t.Errorf("notice after registering: %q", got)
	}
	ui.click(`#engines-table form[data-inline-test] button`)
	ui.waitVisible(`#engines-table output [data-testid="test-result"]`)
	result := ui.text(`#engines-table output [data-testid="test-result"]`)
	m := regexp.MustCompile(`^Reachable in (\d+) ms\. Models: (.+)$`).FindStringSubmatch(result)
	if m == nil {
		t.Fatalf("engine test says %q", result)
	}
	if m[2] != "tiny:latest" {
		t.Errorf("engine test lists models %q, want the engine's tiny:latest", m[2])
	}
	ui.shot("04-engines-tested")

	// Register an A2A agent with its credential, then read its card.
	agent := newCardAgent(t, agentCard03, agentCredential)
	ui.clickToLoad("#nav-agents")
	ui.clickToLoad("#new-agent")
	ui.fill("#name", "travel")
	ui.fill("#base_url", agent.URL())
	ui.fill("#credential", agentCredential)
	ui.clickToLoad("#save-agent")
	if got := ui.text(`[data-testid="notice"]`); got != "Agent registered." {
		t.Errorf("notice after registering the agent: %q", got)
	}
	if got := ui.text(`#agents-table [data-testid="agent-card"]`); !strings.Contains(got, "Travel planner") || !strings.Contains(got, "0.3") {
		t.Errorf("the agent's card shows as %q", got)
	}
	if got, want := ui.text(`#agents-table [data-testid="agent-url"]`), gw.URL+"/t/research/a2a/travel"; got != want {
		t.Errorf("agent URL shown %q, want %q", got, want)
	}
	ui.clickToLoad(`#agents-table a[aria-label="Edit travel"]`)
	ui.clickToLoad("#test-agent")
	if got := ui.text(`[data-testid="card-name"]`); got != "Travel planner" {
		t.Errorf("card name %q", got)
	}
	if got := ui.text(`[data-testid="card-version"]`); got != "0.3" {
		t.Errorf("card version %q", got)
	}
	if skills := ui.text(`[data-testid="card-skills"]`); !strings.Contains(skills, "Plan a trip") || !strings.Contains(skills, "Book a hotel") {
		t.Errorf("card skills %q", skills)
	}
	if agent.lastAuth() != "Bearer "+agentCredential {
		t.Errorf("the card was read with %q", agent.lastAuth())
	}
	if strings.Contains(uiEval[string](ui, `document.documentElement.outerHTML`), agentCredential) {
		t.Error("the agent page holds the credential")
	}
	ui.shot("04b-agent-tested")

	// Register an MCP server with its credential: listed with the URL its
	// clients connect to, which the gateway serves as a protected resource.
	ui.clickToLoad("#nav-mcp")
	ui.clickToLoad("#new-mcp-server")
	ui.fill("#name", "tools")
	ui.fill("#url", "http://127.0.0.1:9/mcp")
	ui.fill("#credential", mcpE2ECredential)
	ui.clickToLoad("#save-mcp-server")
	if got := ui.text(`[data-testid="notice"]`); got != "MCP server registered." {
		t.Errorf("notice after registering the MCP server: %q", got)
	}
	mcpURL := ui.text(`#mcp-table [data-testid="mcp-url"]`)
	if want := gw.URL + "/t/research/mcp/tools"; mcpURL != want {
		t.Errorf("MCP server URL shown %q, want %q", mcpURL, want)
	}
	if got := ui.text(`#mcp-table [data-testid="mcp-credential"]`); got != "set" {
		t.Errorf("MCP server credential shown as %q", got)
	}
	if strings.Contains(uiEval[string](ui, `document.documentElement.outerHTML`), mcpE2ECredential) {
		t.Error("the MCP servers page holds the credential")
	}
	metadata := ui.text(`#mcp-table [data-testid="mcp-metadata"]`)
	waitFor(t, "the MCP server on the request path", func() bool {
		resp, _ := call(t, "GET", metadata, "", "")
		return resp.StatusCode == 200
	})
	if _, body := call(t, "GET", metadata, "", ""); !strings.Contains(body, `"resource":"`+mcpURL+`"`) {
		t.Errorf("metadata at the URL shown: %s", body)
	}
	mcpResp, _ := call(t, "POST", mcpURL, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if got := mcpResp.Header.Get("WWW-Authenticate"); mcpResp.StatusCode != 401 || !strings.Contains(got, `resource_metadata="`+metadata+`"`) {
		t.Errorf("the MCP server's URL answered %d with WWW-Authenticate %q", mcpResp.StatusCode, got)
	}
	ui.shot("04c-mcp-servers")

	// Create an API key: its secret is on this page and nowhere else.
	ui.clickToLoad("#nav-keys")
	ui.fill("#name", "planner agent")
	if resp := ui.clickToLoad("#create-key"); resp.Status != 200 {
		t.Fatalf("create key: status %d", resp.Status)
	}
	key := ui.text("#new-key-secret")
	if !strings.HasPrefix(key, "atk_") {
		t.Fatalf("key shown as %q", key)
	}
	ui.shot("05-keys-new-key")

	// An agent calls the hosted gateway with it. keyCalls counts the calls
	// the gateway accepted, which the Callers page must show.
	chat := gw.URL + "/t/research/api/chat"
	keyCalls := 0
	waitFor(t, "the new key on the request path", func() bool {
		resp, _ := call(t, "POST", chat, key, chatBody)
		if resp.StatusCode == 200 {
			keyCalls++
		}
		return resp.StatusCode == 200
	})
	httpResp, body := call(t, "POST", chat, key, chatBody)
	if httpResp.StatusCode != 200 || !strings.Contains(body, `"content":"Hello!"`) {
		t.Fatalf("chat with the console's key: %d %s", httpResp.StatusCode, body)
	}
	keyCalls++
	if up, _ := eng.lastRequest(); up.Header.Get("X-Attach-Tenant") != "research" {
		t.Errorf("engine saw tenant %q", up.Header.Get("X-Attach-Tenant"))
	}

	// The secret is not shown again; revoke the key.
	ui.open(gw.URL + "/console/t/research/keys")
	if n := uiEval[int](ui, `document.querySelectorAll("#new-key-secret").length`); n != 0 {
		t.Error("the key's secret is shown again")
	}
	if strings.Contains(uiEval[string](ui, `document.documentElement.outerHTML`), key) {
		t.Error("the keys page holds the secret")
	}
	ui.click(`#keys-table details.confirm summary`)
	ui.clickToLoad(`#keys-table details.confirm[open] button.danger`)
	if got := ui.text(`[data-testid="key-status"]`); got != "revoked" {
		t.Errorf("key status after revoking: %q", got)
	}
	waitFor(t, "the revocation on the request path", func() bool {
		resp, _ := call(t, "POST", chat, key, chatBody)
		if resp.StatusCode == 200 {
			keyCalls++ // still accepted until the revocation arrives
		}
		return resp.StatusCode == 401
	})
	httpResp, body = call(t, "POST", chat, key, chatBody)
	if httpResp.StatusCode != 401 || errorCode(t, body) != "key_revoked" {
		t.Fatalf("revoked key: %d %s", httpResp.StatusCode, body)
	}
	ui.shot("06-keys-revoked")

	// The Callers page names the key with the calls it made (refused ones
	// are not callers). Counts reach Postgres every KeyUsageInterval.
	gw.callers.flush(context.Background())
	waitFor(t, "the key's calls counted", func() bool {
		return keyCallsStored(t, gw, "research", key) == keyCalls
	})
	ui.clickToLoad("#nav-callers")
	row := `#callers-table [data-testid="caller-row"]`
	if got, want := ui.text(row+` [data-testid="caller-who"]`), "API key planner agent"; got != want {
		t.Errorf("Callers page names the caller %q, want %q", got, want)
	}
	prefix, _ := attach.ParseAPIKey(key)
	if got, want := ui.text(row+` [data-testid="caller-detail"]`), "atk_"+prefix+"_…"; got != want {
		t.Errorf("Callers page shows the key as %q, want %q", got, want)
	}
	if got := ui.text(row + ` [data-testid="caller-method"]`); got != "API key" {
		t.Errorf("Callers page says the caller signed in with %q", got)
	}
	if got, want := ui.text(row+` [data-testid="caller-count"]`), strconv.Itoa(keyCalls); got != want {
		t.Errorf("Callers page counts %s calls, want %s", got, want)
	}
	ui.shot("06b-callers")

	// Trust did:key on the Issuers page's DID card, for one DID only; the
	// gateway's directory has it within seconds.
	const agentDID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	ui.clickToLoad("#nav-issuers")
	if got := ui.text(`[data-testid="did-methods"]`); got != "none: DID-JWTs are refused" {
		t.Errorf("a new team's DID sign-in reads %q", got)
	}
	ui.click("#did-method-key")
	ui.fill("#allow", agentDID)
	ui.clickToLoad("#save-did")
	if got := ui.text(`[data-testid="notice"]`); !strings.HasPrefix(got, "DID sign-in saved.") {
		t.Errorf("notice after saving DID sign-in: %q", got)
	}
	if got := ui.text(`[data-testid="did-methods"]`); got != "did:key" {
		t.Errorf("DID sign-in trusts %q after saving", got)
	}
	waitFor(t, "the DID policy in the directory", func() bool {
		snap, ok := gw.dir.Team("research")
		return ok && slices.Equal(snap.DID.Methods, []string{"key"}) && slices.Equal(snap.DID.Allow, []string{agentDID})
	})
	ui.shot("06c-issuers-did")

	// The team's other pages.
	ui.clickToLoad("#nav-members")
	if got := ui.text(`[data-testid="member-row"]`); !strings.Contains(got, "ada@example.test") {
		t.Errorf("members page lists %q", got)
	}
	ui.shot("07-members")

	ui.clickToLoad("#nav-audit")
	audit := ui.text("#audit-table")
	for _, action := range []string{"apikey.revoke", "apikey.create", "mcp_server.create", "agent.create", "engine.create", "team.create"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit log lacks %s: %s", action, audit)
		}
	}
	ui.shot("08-audit")

	ui.clickToLoad("#nav-chat")
	ui.waitFilled("chat-subject", "—")
	ui.shot("09-chat")

	ui.clickToLoad("#nav-gateway")
	if got, want := ui.text(`[data-testid="gateway-agent"] code`), gw.URL+"/t/research/a2a/travel"; got != want {
		t.Errorf("gateway page lists agent URL %q, want %q", got, want)
	}
	ui.shot("10-gateway")

	// Sign out, here and at the provider (which asks first): the team's
	// pages send the browser to sign in again.
	ui.clickToLoad("#signout")
	ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`button[name="logout"][value="yes"]`)))
	ui.clickToLoad(`button[name="logout"][value="yes"]`)
	if loc := ui.location(); loc.Path != "/console/signin" {
		t.Fatalf("after sign-out the browser is at %s", loc)
	}
	ui.open(gw.URL + "/console/t/research/engines")
	if loc := ui.location(); loc.Path != "/console/signin" || loc.Query().Get("next") != "/console/t/research/engines" {
		t.Fatalf("signed out, the engines page went to %s", loc)
	}
	ui.waitVisible("#signin-form")
}

// TestConsoleE2ELocalSignIn makes the first owner through the setup link,
// then signs in with a wrong and with the right password.
func TestConsoleE2ELocalSignIn(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	gw := startGateway(t, testConfig(t))
	ui := newConsoleUI(t)
	link, err := gw.SetupLink(context.Background())
	if err != nil || link == "" {
		t.Fatalf("setup link: %q %v", link, err)
	}

	ui.open(link)
	ui.fill("#email", "owner@example.test")
	ui.fill("#name", "Olga Owner")
	ui.fill("#password", e2ePassword)
	ui.fill("#password2", e2ePassword)
	ui.shot("01-setup")
	ui.clickToLoad("#setup-submit")
	// The operator's account owns the default team (the banner's key is
	// for it) and administers the install.
	if p := ui.location().Path; p != "/console/t/default" {
		t.Fatalf("after setup the console is at %s", p)
	}
	if role := ui.text(`[data-testid="role"]`); role != "owner" {
		t.Errorf("after setup the role in the default team is %q", role)
	}
	if n := uiEval[int](ui, `document.querySelectorAll("#install-link").length`); n != 1 {
		t.Error("the setup account is not an install administrator")
	}
	ui.shot("01b-after-setup")
	if who := ui.text(`[data-testid="current-user"]`); who != "Olga Owner" {
		t.Errorf("signed in as %q", who)
	}
	ui.clickToLoad("#signout")

	// A wrong password: an error, and the email stays typed.
	resp := ui.signIn(gw, "owner@example.test", "not the password at all")
	if resp.Status != 401 {
		t.Errorf("wrong password: status %d", resp.Status)
	}
	if got := ui.text(`[data-testid="signin-error"]`); got != "Wrong email or password." {
		t.Errorf("wrong password says %q", got)
	}
	if got := ui.value("#email"); got != "owner@example.test" {
		t.Errorf("email field after a wrong password: %q", got)
	}
	if got := ui.value("#password"); got != "" {
		t.Error("the password field was sent back filled")
	}
	if p := ui.location().Path; p != "/console/signin" {
		t.Errorf("wrong password went to %s", p)
	}
	ui.shot("02-wrong-password")

	// The right one lands in the console, in the one team.
	ui.fill("#password", e2ePassword)
	resp = ui.clickToLoad("#signin-submit")
	if resp.Status != 200 || ui.location().Path != "/console/t/default" {
		t.Fatalf("right password: status %d at %s", resp.Status, ui.location())
	}
	if who := ui.text(`[data-testid="current-user"]`); who != "Olga Owner" {
		t.Errorf("signed in as %q", who)
	}
	ui.shot("03-signed-in")
}

// TestConsoleE2EChatStreams sends a message from the demo chat page: the
// answer appears chunk by chunk, and the identity and session the page shows
// are those the engine received.
func TestConsoleE2EChatStreams(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng, gw, u, ui := signedInLab(t, "chat@example.test", "Chen Chat", "", "tiny", "small")

	ui.open(gw.URL + "/console/t/lab/chat")
	if got := ui.waitFilled("chat-subject", "—"); got != attach.UserSubject(u.ID) {
		t.Errorf("page shows subject %q before the first message, want %q", got, attach.UserSubject(u.ID))
	}
	if got := ui.text("#chat-user"); got != "Chen Chat" {
		t.Errorf("page names the user %q, want the account's name", got)
	}
	ui.fill("#chat-model", "small")
	ui.fill("#chat-input", "Say hello")

	// The engine holds its answer after the first chunk: the page must show
	// that chunk while the stream is still open.
	release := holdStreams(eng)
	defer release()
	ui.click("#chat-send")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-user"]/span[@class="msg-text" and .="Say hello"]`)))
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"]/span[@class="msg-text" and .="Hel"]`)))
	ui.shot("01-streaming")
	release()
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"]/span[@class="msg-text" and .="Hello!"]`)))
	ui.Do(t, chromedp.WaitEnabled(chromedp.CSS("#chat-send")))
	ui.shot("02-answered")

	up, body := eng.lastRequest()
	if up.URL.Path != "/api/chat" {
		t.Fatalf("engine last saw %s", up.URL.Path)
	}
	if !strings.Contains(string(body), `"model":"small"`) || !strings.Contains(string(body), "Say hello") {
		t.Errorf("engine got %s", body)
	}
	session := ui.waitFilled("chat-session", "—")
	if got := up.Header.Get("X-Attach-Session"); got != session {
		t.Errorf("page shows session %q, engine saw %q", session, got)
	}
	if got, shown := up.Header.Get("X-Attach-User"), ui.text("#chat-subject"); got != shown || got != attach.UserSubject(u.ID) {
		t.Errorf("page shows user %q, engine saw %q, want %q", shown, got, attach.UserSubject(u.ID))
	}
	if got, shown := up.Header.Get("X-Attach-Tenant"), ui.text("#chat-tenant"); got != shown || got != "lab" {
		t.Errorf("page shows tenant %q, engine saw %q", shown, got)
	}
	if up.Header.Get("Authorization") != "" {
		t.Error("the page's token reached the engine")
	}
}

// TestConsoleE2ETryIt sends one message with "Try it" on the gateway page.
func TestConsoleE2ETryIt(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng, gw, u, ui := signedInLab(t, "try@example.test", "Tariq Try", "", "tiny")

	ui.open(gw.URL + "/console/t/lab/")
	if got := ui.value("#try-model"); got != "tiny" {
		t.Errorf("Try it suggests model %q", got)
	}
	ui.fill("#try-message", "Are you there?")
	ui.click("#try-send")
	answer, session := tryOutcome(t, ui)
	if answer != "Hello!" {
		t.Errorf("Try it answered %q", answer)
	}
	up, body := eng.lastRequest()
	if session == "" || session == "—" || up.Header.Get("X-Attach-Session") != session {
		t.Errorf("Try it shows session %q, engine saw %q", session, up.Header.Get("X-Attach-Session"))
	}
	if up.Header.Get("X-Attach-User") != attach.UserSubject(u.ID) || !strings.Contains(string(body), "Are you there?") {
		t.Errorf("engine saw user %q and body %s", up.Header.Get("X-Attach-User"), body)
	}
	ui.shot("01-try-it")

	// Without script the form posts and the console makes the call itself,
	// passing the browser's user agent on: same user, same session.
	if _, err := chromedp.Call(ui.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable script: %v", err)
	}
	ui.open(gw.URL + "/console/t/lab/")
	ui.fill("#try-message", "And without script?")
	if resp := ui.clickToLoad("#try-send"); resp.Status != 200 {
		t.Fatalf("Try it without script: status %d", resp.Status)
	}
	answer, noScriptSession := tryOutcome(t, ui)
	if answer != "Hello!" || noScriptSession != session {
		t.Errorf("Try it without script: answer %q, session %q, want %q", answer, noScriptSession, session)
	}
	if _, body := eng.lastRequest(); !strings.Contains(string(body), "And without script?") {
		t.Errorf("engine got %s", body)
	}
	ui.shot("02-try-it-without-script")
}

// tryOutcome waits for "Try it" to show its outcome and returns the answer
// and the session id, failing the test when it shows a problem instead.
func tryOutcome(t *testing.T, ui *consoleUI) (answer, session string) {
	t.Helper()
	ui.waitVisible(`[data-testid="try-result"]`)
	if uiEval[int](ui, `document.querySelectorAll('[data-testid="try-answer"]').length`) == 0 {
		ui.shot("failure")
		t.Fatalf("Try it shows a problem: %s", ui.text(`[data-testid="try-result"]`))
	}
	return ui.text(`[data-testid="try-answer"]`), ui.text(`[data-testid="try-session"]`)
}

// TestConsoleE2EEscapesMarkup feeds markup to every field that shows up on
// the console's pages and checks, with the page's CSP turned off so only
// escaping stands in the way, that it is shown as text and never runs.
func TestConsoleE2EEscapesMarkup(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	const evil = `<script>alert(1)</script>`
	const evilImg = `<img src=x onerror=alert(2)>`
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	u := consoleAccount(t, gw, "xss@example.test", "Xavier")
	ui := newConsoleUI(t)

	dialogs := ui.watchDialogs()
	if _, err := chromedp.Call(ui.Context(), page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass CSP: %v", err)
	}

	ui.signIn(gw, u.Email, e2ePassword)
	ui.fill("#name", evil)
	ui.fill("#slug", "xss")
	ui.clickToLoad("#create-team")

	// An engine name cannot hold markup: the form says so and keeps what
	// was typed, as text.
	ui.open(gw.URL + "/console/t/xss/engines/new")
	ui.fill("#name", evil)
	ui.fill("#base_url", eng.URL())
	ui.fill("#models", evil+"\n"+evilImg)
	if resp := ui.clickToLoad("#save-engine"); resp.Status != 422 {
		t.Fatalf("engine named %s: status %d", evil, resp.Status)
	}
	ui.waitVisible(`[data-testid="name-error"]`)
	if got := ui.value("#name"); got != evil {
		t.Errorf("name field came back as %q", got)
	}
	if got := ui.value("#models"); got != evil+"\n"+evilImg {
		t.Errorf("models field came back as %q", got)
	}
	checkNoMarkupRan(t, ui, "engine form")

	ui.fill("#name", "xss-engine")
	ui.clickToLoad("#save-engine")
	if p := ui.location().Path; p != "/console/t/xss/engines" {
		t.Fatalf("after saving the engine the console is at %s", p)
	}
	if got := ui.text(`#engines-table [data-testid="engine-row"] td:nth-child(5)`); got != evil+", "+evilImg {
		t.Errorf("models cell reads %q", got)
	}
	if got := ui.text(".team-title"); !strings.Contains(got, evil) {
		t.Errorf("team title reads %q", got)
	}
	checkNoMarkupRan(t, ui, "engines page")
	ui.shot("01-engines")

	for _, path := range []string{"/", "/chat", "/issuers", "/mcp", "/mcp/new", "/keys", "/members", "/callers", "/audit", "/settings"} {
		ui.open(gw.URL + "/console/t/xss" + path)
		checkNoMarkupRan(t, ui, path)
	}
	ui.open(gw.URL + "/console/t/xss/")
	if got := ui.text("main h1"); got != evil {
		t.Errorf("gateway page heading reads %q", got)
	}
	ui.shot("02-gateway")

	if opened := dialogs(); len(opened) > 0 {
		t.Errorf("markup ran: dialogs %q", opened)
	}
}

// checkNoMarkupRan fails when the page holds an element the test's markup
// would have made: an inline script or an image.
func checkNoMarkupRan(t *testing.T, ui *consoleUI, where string) {
	t.Helper()
	n := uiEval[int](ui, `document.querySelectorAll("script:not([src]), img, [onerror]").length`)
	if n != 0 {
		t.Errorf("%s: %d elements made from typed markup", where, n)
	}
	foreign := uiEval[[]string](ui, `Array.from(document.scripts).map(s => s.src).filter(s => !s.startsWith(location.origin + "/static/"))`)
	if len(foreign) != 0 {
		t.Errorf("%s: scripts from elsewhere: %q", where, foreign)
	}
}

// TestConsoleE2ENarrowScreen checks that the engines page fits a 360 px
// wide phone without scrolling sideways.
func TestConsoleE2ENarrowScreen(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, gw, _, ui := signedInLab(t, "narrow@example.test", "Nora Narrow", "/a/rather/long/base/path/for/an/engine", "llama3.1:70b-instruct-q4_K_M", "qwen2.5-coder:32b", "mistral-nemo", "phi4", "gemma2:27b")

	ui.Do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
	ui.open(gw.URL + "/console/t/lab/engines")
	ui.waitVisible("#engines-table")
	width := uiEval[int](ui, `document.documentElement.scrollWidth`)
	ui.shot("01-engines-360px")
	if width > 360 {
		t.Errorf("engines page is %d px wide at 360 px: it scrolls sideways", width)
	}
}

// keyCallsStored is the number of calls by API key secret that the store
// holds for team slug over the last day.
func keyCallsStored(t *testing.T, gw *gateway, slug, secret string) int {
	t.Helper()
	team, ok := gw.dir.Team(slug)
	if !ok {
		t.Fatalf("no team %s", slug)
	}
	prefix, _ := attach.ParseAPIKey(secret)
	list, err := gw.store.ListCallers(context.Background(), team.Team.ID, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.KeyPrefix == prefix {
			return int(c.Count)
		}
	}
	return 0
}
