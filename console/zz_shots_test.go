package console

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/tenants"
)

func TestShots(t *testing.T) {
	if os.Getenv("SHOTS") == "" {
		t.Skip()
	}
	e := newEnv(t)
	u := e.localUser("ada@example.test")
	team := e.team("acme", u)
	up := ollama(t)
	ctx0 := testCtx(t)
	if _, err := e.store.CreateEngine(ctx0, team.ID, tenants.EngineInput{Name: "gpu-box", Dialect: "ollama", BaseURL: up.URL, Models: []string{"llama3", "qwen2.5:7b"}, Default: true}); err != nil {
		t.Fatal(err)
	}
	k := upstreamKey
	if _, err := e.store.CreateEngine(ctx0, team.ID, tenants.EngineInput{Name: "openai", Dialect: "openai", BaseURL: "https://api.openai.example/v1", APIKey: &k, Models: []string{"gpt-4o-mini"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateIssuer(ctx0, team.ID, tenants.IssuerInput{URL: "https://login.example.com/realms/acme", Audience: "api://acme"}); err != nil {
		t.Fatal(err)
	}
	bob := e.user("bob")
	e.member(team, bob, tenants.RoleMember)
	if _, _, err := e.store.CreateInvite(tenants.WithActor(ctx0, tenants.Actor{ID: u.ID, Name: u.Email, IP: "127.0.0.1"}), team.ID, tenants.InviteInput{Email: "carol@example.test", Role: tenants.RoleAdmin}); err != nil {
		t.Fatal(err)
	}

	dir := "/tmp/shots"
	os.MkdirAll(dir, 0o755)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, a.Value))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, fmt.Sprintf("exception: %+v", ev.ExceptionDetails))
		case *log.EventEntryAdded:
			problems = append(problems, "log: "+ev.Entry.Text)
		}
	}))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	shot := func(name string, width int64) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(dir+"/"+name+".png", buf, 0o644)
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	base := e.URL + Base
	do(chromedp.Navigate(base + "/signin"))
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Log(err)
	}
	shot("signin", 1280)
	do(chromedp.SendKeys(chromedp.ID("email"), "ada@example.test"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("hosted-url")))
	shot("gateway", 1280)
	shot("gateway-360", 360)
	do(chromedp.SendKeys(chromedp.ID("try-message"), "hello there"),
		chromedp.Click(chromedp.ID("try-send")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="try-answer"]`)))
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("try-result")))
	t.Logf("try: %q", text)
	shot("gateway-tried", 1280)
	do(chromedp.Navigate(base+"/t/acme/engines"),
		chromedp.WaitVisible(chromedp.ID("engines-table")),
		chromedp.Click(chromedp.CSS(`form[data-inline-test] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="test-result"]`)))
	shot("engines", 1280)
	shot("engines-360", 360)
	do(chromedp.EmulateViewport(1280, 900), chromedp.Click(chromedp.CSS(`a[aria-label="Edit gpu-box"]`)), chromedp.WaitVisible(chromedp.ID("engine-form")))
	shot("engine-edit", 1280)
	do(chromedp.Navigate(base + "/t/acme/issuers"))
	shot("issuers", 1280)
	do(chromedp.Navigate(base+"/t/acme/keys"),
		chromedp.SendKeys(chromedp.ID("name"), "ci-agent"),
		chromedp.Click(chromedp.ID("create-key")),
		chromedp.WaitVisible(chromedp.ID("new-key-secret")))
	shot("keys-new", 1280)
	do(chromedp.Navigate(base + "/t/acme/members"))
	shot("members", 1280)
	shot("members-360", 360)
	do(chromedp.Navigate(base + "/t/acme/audit"))
	shot("audit", 1280)
	do(chromedp.Navigate(base + "/t/acme/settings"))
	shot("settings", 1280)
	do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/t/acme/chat"),
		chromedp.WaitVisible(chromedp.ID("chat-form")),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.SendKeys(chromedp.ID("chat-input"), "streaming works?"),
		chromedp.Click(chromedp.ID("chat-send")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="msg-assistant"]`)),
		chromedp.Sleep(300*time.Millisecond))
	sess, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("chat-session")))
	user, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("chat-user")))
	answer, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="msg-assistant"]`)))
	t.Logf("chat: session %q user %q answer %q", sess, user, answer)
	shot("chat", 1280)
	shot("chat-360", 360)
	do(chromedp.Navigate(base + "/teams"))
	shot("teams", 1280)
	do(chromedp.Navigate(base + "/nope"))
	shot("404", 1280)
	mu.Lock()
	t.Logf("problems:\n%s", strings.Join(problems, "\n"))
	mu.Unlock()
}
