package app

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Helpers for the console's end-to-end tests in a real Chromium. Console
// pages set a Content-Security-Policy without 'unsafe-eval', so waiting goes
// through DevTools queries (CSS or XPath), never through a predicate the
// page itself would have to compile.

const e2ePassword = "correct horse battery staple"

// consoleAccount makes a console account with a password, as the setup
// page or an invite would.
func consoleAccount(t *testing.T, gw *gateway, email, name string) tenants.User {
	t.Helper()
	u, err := gw.store.CreateLocalUser(context.Background(), tenants.UserInput{Email: email, Name: name, Password: e2ePassword})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// teamWithEngine makes a team owned by owner with one default engine at
// engineURL listing models, and waits until the request path knows both.
func teamWithEngine(t *testing.T, gw *gateway, owner tenants.User, slug, engineURL string, models ...string) attach.Team {
	t.Helper()
	ctx := context.Background()
	team, err := gw.store.CreateTeamWithOwner(ctx, teamInput(slug), owner.ID)
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	in := tenants.EngineInput{Name: "gpu-box", Dialect: attach.DialectOllama, BaseURL: engineURL, Models: models, Default: true}
	if _, err := gw.store.CreateEngine(ctx, team.ID, in); err != nil {
		t.Fatalf("create engine: %v", err)
	}
	waitFor(t, "team "+slug+" with its engine in the directory", func() bool {
		s, ok := gw.dir.Team(slug)
		return ok && len(s.Engines) == 1
	})
	return team
}

// signedInLab is where the console's page tests start: a gateway with an
// engine, an account with email and name, its team "lab" whose engine at
// the engine's URL plus enginePath serves models, and a browser signed in
// as that account.
func signedInLab(t *testing.T, email, name, enginePath string, models ...string) (*engine, *gateway, tenants.User, *consoleUI) {
	t.Helper()
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	u := consoleAccount(t, gw, email, name)
	teamWithEngine(t, gw, u, "lab", eng.URL()+enginePath, models...)
	ui := newConsoleUI(t)
	ui.signIn(gw, u.Email, e2ePassword)
	return eng, gw, u, ui
}

// consoleUI is a headless Chromium driven by one test, with steps that fail
// the test (and leave a screenshot) when the page does not do what they ask.
type consoleUI struct {
	t *testing.T
	*browsertest.Browser
}

func newConsoleUI(t *testing.T) *consoleUI {
	t.Helper()
	return &consoleUI{t: t, Browser: browsertest.Start(t)}
}

// signIn signs in through the console's password form and returns the
// page it lands on.
func (ui *consoleUI) signIn(gw *gateway, email, password string) *network.Response {
	ui.t.Helper()
	ui.open(gw.URL + "/console/signin")
	ui.fill("#email", email)
	ui.fill("#password", password)
	return ui.clickToLoad("#signin-submit")
}

// open loads url and returns the response of the document the browser
// ends on, after any redirects.
func (ui *consoleUI) open(url string) *network.Response {
	ui.t.Helper()
	resp := browsertest.Get(ui.t, ui.Browser, chromedp.NavigateResponse(url))
	if resp == nil {
		ui.t.Fatalf("no response loading %s", url)
	}
	return resp
}

// clickToLoad clicks what sel names (a link or a submit button) and waits
// until the page it leads to has loaded.
func (ui *consoleUI) clickToLoad(sel string) *network.Response {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.Context(), 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		ui.Screenshot(ui.t, "failure")
		ui.t.Fatalf("click %s and wait for the page: %v", sel, err)
	}
	if resp == nil {
		ui.t.Fatalf("click %s: no page loaded", sel)
	}
	return resp
}

// click clicks without waiting for a page: for what a script handles.
func (ui *consoleUI) click(sel string) {
	ui.t.Helper()
	ui.Do(ui.t, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fill replaces the value of a text field with text, entered as the
// browser's input pipeline enters typed or pasted text (one input event).
// The field is emptied through DevTools first: chromedp's Clear fails on an
// empty textarea and its SetValue cannot set "".
func (ui *consoleUI) fill(sel, text string) {
	ui.t.Helper()
	quoted, _ := json.Marshal(sel)
	ui.Do(ui.t,
		chromedp.WaitReady(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(quoted)+`).value = ""`),
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}),
	)
}

// text is the text of the first element sel matches, once there is one.
func (ui *consoleUI) text(sel string) string {
	ui.t.Helper()
	return strings.TrimSpace(browsertest.Get(ui.t, ui.Browser, chromedp.TextContent(chromedp.CSS(sel))))
}

// value is the current value of a form field.
func (ui *consoleUI) value(sel string) string {
	ui.t.Helper()
	return browsertest.Get(ui.t, ui.Browser, chromedp.Value(chromedp.CSS(sel)))
}

// waitVisible waits for an element sel matches to be shown.
func (ui *consoleUI) waitVisible(sel string) {
	ui.t.Helper()
	ui.Do(ui.t, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitFilled waits until a script has put something other than
// placeholder into the element with id, and returns it.
func (ui *consoleUI) waitFilled(id, placeholder string) string {
	ui.t.Helper()
	ui.Do(ui.t, chromedp.WaitReady(chromedp.Search(`//*[@id="`+id+`" and normalize-space(.)!="`+placeholder+`" and normalize-space(.)!=""]`)))
	return ui.text("#" + id)
}

// location is the page's address.
func (ui *consoleUI) location() *url.URL {
	ui.t.Helper()
	loc := browsertest.Get(ui.t, ui.Browser, chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		ui.t.Fatalf("page location %q: %v", loc, err)
	}
	return u
}

// shot saves a screenshot of the page for a person to look at.
func (ui *consoleUI) shot(name string) {
	ui.t.Helper()
	ui.Screenshot(ui.t, name)
}

// uiEval runs a JavaScript expression in the page through DevTools (the
// page's CSP does not govern it) and decodes its value.
func uiEval[T any](ui *consoleUI, expr string) T {
	ui.t.Helper()
	return browsertest.Get(ui.t, ui.Browser, chromedp.Evaluate[T](expr))
}

// watchDialogs answers every JavaScript dialog the page opens from now on,
// so the page does not hang on it, and returns a func that lists the
// messages of those opened so far. It stops when the test ends.
func (ui *consoleUI) watchDialogs() func() []string {
	ui.t.Helper()
	ctx, stop := context.WithCancel(ui.Context())
	var mu sync.Mutex
	var opened []string
	done := make(chan struct{})
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			opened = append(opened, ev.Message)
			mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	ui.t.Cleanup(func() { stop(); <-done })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(opened)
	}
}

// holdStreams makes the engine hold each streamed answer after its first
// chunk until the returned func is called (once or more).
func holdStreams(e *engine) (release func()) {
	ch := make(chan struct{})
	e.mu.Lock()
	e.release = ch
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			if e.release == ch {
				e.release = nil
			}
			e.mu.Unlock()
			close(ch)
		})
	}
}
