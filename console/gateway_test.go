package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

func TestGatewayPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ned")
	team := e.team("home", u)
	b := e.signedIn(u)

	empty := b.get(Base + "/t/home")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, `data-testid="hosted-url">`+e.URL+`/t/home/`, "No engines yet", `id="first-engine"`, "YOUR_MODEL")

	if _, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "side", Dialect: "ollama", BaseURL: "http://a:1", Models: []string{"side-model"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "main", Dialect: "ollama", BaseURL: "http://b:1", Models: []string{"llama3"}, Default: true}); err != nil {
		t.Fatal(err)
	}
	p := b.get(Base + "/t/home")
	wantLacks(t, p, "No engines yet", "YOUR_MODEL")
	// The snippets carry the team's real values; the default engine's model
	// comes first.
	wantContains(t, p,
		`id="snippet-curl"`, "curl "+e.URL+"/t/home/api/chat", `&#34;model&#34;:&#34;llama3&#34;`,
		`id="snippet-openai"`, `base_url=&#34;`+e.URL+`/t/home/v1&#34;`,
		`id="snippet-ollama"`, `host=&#34;`+e.URL+`/t/home&#34;`,
		`<option value="llama3">`, `<option value="side-model">`, `data-copy="snippet-curl"`,
	)
	// Nothing serves A2A yet, so the page offers no endpoint for it.
	wantLacks(t, p, "snippet-a2a", "/a2a")
}

func TestTryItWithoutScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ola")
	e.team("try", u)
	b := e.signedIn(u)

	p := b.post(Base+"/t/try/try", url.Values{"model": {"llama3"}, "message": {""}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="message-error"`, `value="llama3"`)

	p = b.post(Base+"/t/try/try", url.Values{"model": {"llama3"}, "message": {"hi <b>there</b>"}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="try-answer">echo: hi &lt;b&gt;there&lt;/b&gt;`, `data-testid="try-session">sess-`+u.ID[:8])
	for _, tok := range e.minter.minted() {
		wantLacks(t, p, tok)
		if strings.Contains(e.logs.String(), tok) {
			t.Error("a minted token reached the log")
		}
	}

	// The gateway's refusal is shown in words.
	p = b.post(Base+"/t/try/try", url.Values{"model": {"missing"}, "message": {"hi"}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "The gateway answered 404: model &#39;missing&#39; not found")

	e.minter.setFail(true)
	p = b.post(Base+"/t/try/try", url.Values{"model": {"llama3"}, "message": {"hi"}})
	wantContains(t, p, "could not make a token")
	if strings.Contains(p.Body, "signing key unavailable") {
		t.Error("the minter's error reached the page")
	}
}

func TestMintToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("pia")
	e.team("mint", u)
	b := e.signedIn(u)

	// Without the CSRF header: refused, nothing minted.
	p := b.postJSON(Base+"/t/mint/token", "")
	wantStatus(t, p, http.StatusForbidden)
	if len(e.minter.minted()) != 0 {
		t.Fatal("a token was minted without CSRF")
	}

	p = b.postJSON(Base+"/t/mint/token", b.csrf)
	wantStatus(t, p, http.StatusOK)
	var m mintResponse
	if err := json.Unmarshal([]byte(p.Body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Token == "" || m.User != "pia@example.test" || m.Tenant != "mint" || m.ChatURL != "/t/mint/api/chat" || time.Until(m.ExpiresAt) <= 0 {
		t.Fatalf("mint response %+v", m)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	// The token works on the team's engine route.
	req, _ := http.NewRequest(http.MethodPost, e.URL+m.ChatURL, strings.NewReader(`{"model":"x","messages":[{"role":"user","content":"ping"}]}`))
	req.Header.Set("Authorization", "Bearer "+m.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Attach-Session-Id") == "" {
		t.Fatalf("chat with minted token: %d", resp.StatusCode)
	}

	e.minter.setFail(true)
	p = b.postJSON(Base+"/t/mint/token", b.csrf)
	wantStatus(t, p, http.StatusBadGateway)
	if code := jsonErrorCode(t, p); code != "mint_failed" {
		t.Errorf("code %q", code)
	}
}

func TestChatPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, v := e.user("quin"), e.user("rae")
	team := e.team("talk", u)
	e.member(team, v, tenants.RoleViewer)
	if _, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "m", Dialect: "ollama", BaseURL: "http://a:1", Models: []string{"tiny"}}); err != nil {
		t.Fatal(err)
	}
	p := e.signedIn(u).get(Base + "/t/talk/chat")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<script src="/static/chat.js" defer>`, `data-token-url="/console/t/talk/token"`,
		`data-chat-url="/t/talk/api/chat"`, `id="chat-form"`, `id="chat-session"`, `<option value="tiny">`, "<noscript>")

	viewer := e.signedIn(v).get(Base + "/t/talk/chat")
	wantStatus(t, viewer, http.StatusOK)
	wantLacks(t, viewer, `id="chat-form"`)
	wantContains(t, viewer, "Viewers cannot call the team's engines")

	// The page's scripts are served.
	for _, asset := range []string{"/static/chat.js", "/static/console.js", "/static/console.css"} {
		a := e.browser().get(asset)
		if a.StatusCode != http.StatusOK || len(a.Body) < 500 {
			t.Errorf("%s: status %d, %d bytes", asset, a.StatusCode, len(a.Body))
		}
	}
}
