package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// longNote is a memory note with a long unbroken token and long lines: the
// kind of content that pushed the memory page's content column out of view.
var longNote = "Plan: " + strings.Repeat("reach-every-section-of-the-console-", 12) + "\n" +
	strings.Repeat("A long line of notes that goes on and on without a break in sight. ", 20) + "\n" +
	"https://example.test/" + strings.Repeat("very/long/path/", 25)

// narrowData gives team lab data on every page that lists it: keys,
// members and invites, MCP servers, agents, memory events (through the
// hosted gateway, as an agent stores them) and with them the audit log.
func narrowData(t *testing.T, gw *gateway) {
	t.Helper()
	ctx := context.Background()
	team, err := gw.store.GetTeam(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := gw.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "a planner agent with a rather long name for its key"})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if _, _, err := gw.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "ci", Scopes: []string{"memory:admin"}}); err != nil {
		t.Fatalf("create key: %v", err)
	}
	member := consoleAccount(t, gw, "maximilian.longname-member@example.test", "Maximilian Longname")
	if err := gw.store.AddMember(ctx, team.ID, member.ID, tenants.RoleMember); err != nil {
		t.Fatalf("add member: %v", err)
	}
	if _, _, err := gw.store.CreateInvite(ctx, team.ID, tenants.InviteInput{Email: "someone.invited-with-a-long-address@example.test", Role: tenants.RoleMember}); err != nil {
		t.Fatalf("invite: %v", err)
	}
	if _, err := gw.store.CreateMCPServer(ctx, team.ID, tenants.MCPServerInput{Name: "tools", URL: "http://127.0.0.1:9/a/long/path/to/the/mcp/endpoint"}); err != nil {
		t.Fatalf("create MCP server: %v", err)
	}
	if _, err := gw.store.CreateAgent(ctx, team.ID, tenants.AgentInput{Name: "travel", BaseURL: "http://127.0.0.1:9/agents/travel-planner"}); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	body, _ := json.Marshal(map[string]string{"content": longNote, "session": "session-with-a-long-identifier-0123456789", "task_id": "task-0123456789abcdef"})
	waitFor(t, "the key on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/mem/events", token, string(body))
		return resp.StatusCode == 201
	})
	if resp, _ := call(t, "POST", gw.URL+"/t/lab/mem/events", token, `{"content":"a short note"}`); resp.StatusCode != 201 {
		t.Fatalf("second note: status %d", resp.StatusCode)
	}
	// An answer as a chat through a team's IdP stores it: a long user
	// subject and model name with no spaces to break at.
	if _, err := gw.mem.store.Add(ctx, attach.Event{TeamID: team.ID, Kind: "response", Role: "assistant",
		User:    "oidc|corp-identity-provider.example.test|0123456789abcdef0123456789abcdef",
		Session: "chat-session-0123456789abcdef", Model: "llama3.1:70b-instruct-q4_K_M-with-a-long-tag",
		Engine: "gpu-box-in-the-basement-rack-3", Content: "Answer: " + longNote}); err != nil {
		t.Fatalf("store an answer: %v", err)
	}
}

// longEventLink finds the link to the long note's page on the memory page.
const longEventLink = `Array.from(document.querySelectorAll("#memory-table tr")).find(r => r.textContent.includes("reach-every-section")).querySelector("a").href`

// navCheck is what the page says of its navigation's geometry.
type navCheck struct {
	Links       int      `json:"links"`
	Unreachable []string `json:"unreachable"` // links outside the nav's scroll area
	Active      string   `json:"active"`
	ActiveShown bool     `json:"activeShown"` // the active link is on screen
	NavInView   bool     `json:"navInView"`   // the nav box itself fits the viewport
	PageWidth   int      `json:"pageWidth"`
}

// navGeometry reads the team navigation's geometry: a link is reachable
// when its box lies inside the list's scroll area (the list scrolls, or it
// wraps and shows it), and the active link must be on screen as loaded.
const navGeometry = `(() => {
  const ul = document.querySelector(".sidenav ul");
  const ur = ul.getBoundingClientRect();
  const out = {links: 0, unreachable: [], active: "", activeShown: false,
    navInView: ur.left >= -1 && ur.right <= innerWidth + 1,
    pageWidth: document.documentElement.scrollWidth};
  for (const a of ul.querySelectorAll("a")) {
    out.links++;
    const r = a.getBoundingClientRect();
    // Position within the list's scrolled content.
    const left = r.left - ur.left + ul.scrollLeft, top = r.top - ur.top + ul.scrollTop;
    if (left < -1 || left + r.width > ul.scrollWidth + 1 || top < -1 || top + r.height > ul.scrollHeight + 1 ||
        getComputedStyle(a).visibility === "hidden" || r.width === 0) {
      out.unreachable.push(a.id);
    }
    if (a.getAttribute("aria-current") === "page") {
      out.active = a.id;
      out.activeShown = r.left >= Math.max(ur.left, 0) - 1 && r.right <= Math.min(ur.right, innerWidth) + 1 &&
        r.top >= 0 && r.bottom <= innerHeight;
    }
  }
  return out;
})()`

// tableCheck is what the page says of one table.
type tableCheck struct {
	ID        string `json:"id"`
	Reachable bool   `json:"reachable"` // the last column is on screen or in a scroller that reaches it
	Overflows bool   `json:"overflows"` // the table is wider than its box
	Hinted    bool   `json:"hinted"`    // a visible "scroll" caption says so
	Why       string `json:"why"`       // what is out of reach
}

// tableGeometry checks each table's last column: either on screen, or
// inside a horizontal scroller on screen whose scroll width holds it. A
// table wider than its box must come with a visible hint.
const tableGeometry = `Array.from(document.querySelectorAll("main table")).map(t => {
  const cells = t.querySelectorAll("tr > :last-child");
  const wrap = t.closest(".table-wrap");
  const out = {id: t.id, reachable: true, overflows: false, hinted: false};
  let scroller = t.parentElement;
  while (scroller && scroller !== document.body && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowX)) scroller = scroller.parentElement;
  if (scroller === document.body) scroller = null;
  for (const c of cells) {
    const r = c.getBoundingClientRect();
    if (r.left >= 0 && r.right <= innerWidth + 1) continue;
    if (!scroller) { out.reachable = false; continue; }
    const sr = scroller.getBoundingClientRect();
    const right = r.right - sr.left - scroller.clientLeft + scroller.scrollLeft;
    if (sr.left < -1 || sr.right > innerWidth + 1 || right > scroller.scrollWidth + 1) {
      out.reachable = false;
      out.why = c.tagName + " ends at " + Math.round(right) + " of the scroller's " + scroller.scrollWidth + " (scroller " + scroller.className + " " + Math.round(sr.left) + ".." + Math.round(sr.right) + ")";
    }
  }
  if (wrap) {
    out.overflows = wrap.scrollWidth > wrap.clientWidth + 1;
    const hint = wrap.parentElement.querySelector('[data-scroll-hint="' + t.id + '"]');
    out.hinted = !!hint && hint.getBoundingClientRect().height > 0 && getComputedStyle(hint).visibility !== "hidden";
  }
  return out;
})`

// TestConsoleE2ENarrowNavAndTables checks the console on a 360 px phone:
// every section of the team's navigation is reachable, the section being
// shown has its tab on screen, each table's last column (its row actions)
// can be scrolled to, with a visible hint, and no page scrolls sideways.
// With script off the tabs wrap: every one is on screen. At 1280 px the memory
// page's content column shows a long event without clipping it.
func TestConsoleE2ENarrowNavAndTables(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, gw, _, ui := signedInLab(t, "narrow-nav@example.test", "Nadia Narrow", "", "tiny")
	narrowData(t, gw)

	ui.Do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
	ui.open(gw.URL + "/console/t/lab/")
	hrefs := uiEval[[]string](ui, `Array.from(document.querySelectorAll(".sidenav a")).map(a => a.href)`)
	if len(hrefs) < 12 {
		t.Fatalf("the navigation has %d sections: %q", len(hrefs), hrefs)
	}
	shots := map[string]string{"/console/t/lab": "gateway", "/console/t/lab/keys": "keys", "/console/t/lab/members": "members", "/console/t/lab/memory": "memory"}
	tables := 0
	for _, href := range hrefs {
		ui.open(href)
		path := ui.location().Path
		nav := uiEval[navCheck](ui, navGeometry)
		if nav.Links != len(hrefs) || len(nav.Unreachable) > 0 {
			t.Errorf("%s at 360 px: of %d links, %q cannot be reached", path, nav.Links, nav.Unreachable)
		}
		if nav.Active == "" || !nav.ActiveShown {
			t.Errorf("%s at 360 px: the active tab %q is off screen", path, nav.Active)
		}
		if !nav.NavInView {
			t.Errorf("%s at 360 px: the navigation is wider than the screen", path)
		}
		if nav.PageWidth > 360 {
			t.Errorf("%s at 360 px: the page is %d px wide and scrolls sideways", path, nav.PageWidth)
		}
		for _, tc := range uiEval[[]tableCheck](ui, tableGeometry) {
			tables++
			if !tc.Reachable {
				t.Errorf("%s at 360 px: the last column of table %s cannot be reached: %s", path, tc.ID, tc.Why)
			}
			if tc.Overflows && !tc.Hinted {
				t.Errorf("%s at 360 px: table %s is wider than the screen with no hint to scroll", path, tc.ID)
			}
		}
		if name, ok := shots[strings.TrimSuffix(path, "/")]; ok {
			ui.shot("360-" + name)
		}
	}
	if tables < 6 {
		t.Errorf("the journey met %d tables: the team's data did not show", tables)
	}

	// The forms that have a page of their own fit too.
	for _, path := range []string{"/engines/new", "/agents/new", "/mcp/new", "/issuers/new"} {
		ui.open(gw.URL + "/console/t/lab" + path)
		if w := uiEval[int](ui, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("%s at 360 px: the page is %d px wide and scrolls sideways", path, w)
		}
	}

	ui.open(gw.URL + "/console/t/lab/memory")
	eventURL := uiEval[string](ui, longEventLink)
	ui.open(eventURL)
	if w := uiEval[int](ui, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the long event's page at 360 px is %d px wide and scrolls sideways", w)
	}
	ui.shot("360-memory-event")

	// The actions of a key can be scrolled to and used.
	ui.open(gw.URL + "/console/t/lab/keys")
	ui.Do(t, chromedp.ScrollIntoView(chromedp.CSS(`#keys-table td.actions details summary`)))
	ui.click(`#keys-table td.actions details summary`)
	ui.waitVisible(`#keys-table td.actions details[open] button`)
	if !uiEval[bool](ui, `(() => {
	  const b = document.querySelector("#keys-table td.actions details[open] button").getBoundingClientRect();
	  return b.left >= 0 && b.right <= innerWidth;
	})()`) {
		t.Error("at 360 px the open revoke confirmation's button is off screen")
	}
	ui.shot("360-keys-revoke-open")
	colorScheme(t, ui, "dark")
	ui.open(gw.URL + "/console/t/lab/keys")
	ui.shot("360-keys-dark")
	colorScheme(t, ui, "")

	// Without script the navigation still reaches every section, and the
	// last one, current, is on screen.
	if _, err := chromedp.Call(ui.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable script: %v", err)
	}
	ui.open(gw.URL + "/console/t/lab/settings")
	if nav := uiEval[navCheck](ui, navGeometry); len(nav.Unreachable) > 0 || !nav.ActiveShown || nav.PageWidth > 360 {
		t.Errorf("without script at 360 px: %q cannot be reached, the active tab shown: %v, page %d px wide", nav.Unreachable, nav.ActiveShown, nav.PageWidth)
	}
	ui.shot("360-settings-no-script")
	if _, err := chromedp.Call(ui.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatalf("enable script: %v", err)
	}

	// At 1280 px the memory page gives the content column the room it needs.
	ui.Do(t, chromedp.EmulateViewport(1280, 800))
	for path, name := range shots {
		ui.open(gw.URL + path)
		ui.shot("1280-" + name)
	}
	ui.open(gw.URL + "/console/t/lab/memory")
	clip := uiEval[map[string]int](ui, `(() => {
	  const cells = Array.from(document.querySelectorAll("#memory-table td.preview"));
	  const cell = cells.find(c => c.textContent.includes("reach-every-section"));
	  const wrap = document.querySelector("#memory-table").closest(".table-wrap");
	  return {found: cell ? 1 : 0, cellScroll: cell ? cell.scrollWidth : 0, cellClient: cell ? cell.clientWidth : 0,
	    cellRight: cell ? Math.round(cell.getBoundingClientRect().right) : 0,
	    cellWidth: cell ? Math.round(cell.getBoundingClientRect().width) : 0,
	    tableWidth: Math.round(document.querySelector("#memory-table").getBoundingClientRect().width),
	    wrapRight: Math.round(wrap.getBoundingClientRect().right),
	    wrapScroll: wrap.scrollWidth, wrapClient: wrap.clientWidth, page: document.documentElement.scrollWidth};
	})()`)
	if clip["found"] != 1 {
		t.Fatal("the memory page does not list the long note")
	}
	if clip["cellScroll"] > clip["cellClient"] {
		t.Errorf("at 1280 px the content cell is clipped: scroll width %d > client width %d", clip["cellScroll"], clip["cellClient"])
	}
	if clip["wrapScroll"] > clip["wrapClient"]+1 || clip["cellRight"] > clip["wrapRight"]+1 {
		t.Errorf("at 1280 px the memory table does not fit its box: %v", clip)
	}
	if clip["cellWidth"]*100 < clip["tableWidth"]*35 {
		t.Errorf("at 1280 px the content column is %d px of the table's %d", clip["cellWidth"], clip["tableWidth"])
	}
	if clip["page"] > 1280 {
		t.Errorf("at 1280 px the memory page is %d px wide", clip["page"])
	}

	// The event's page: the content wraps inside its card.
	ui.open(eventURL)
	pre := uiEval[map[string]int](ui, `(() => {
	  const p = document.querySelector("#event-content");
	  const card = p.closest(".card");
	  return {scroll: p.scrollWidth, client: p.clientWidth, right: Math.round(p.getBoundingClientRect().right),
	    cardRight: Math.round(card.getBoundingClientRect().right), page: document.documentElement.scrollWidth};
	})()`)
	if pre["right"] > pre["cardRight"] || pre["page"] > 1280 {
		t.Errorf("at 1280 px the event's content leaves its card: %v", pre)
	}
	ui.shot("1280-memory-event")
}

// colorScheme makes the page see the system's colour scheme as scheme;
// "" ends the override.
func colorScheme(t *testing.T, ui *consoleUI, scheme string) {
	t.Helper()
	var features []*emulation.MediaFeature
	if scheme != "" {
		features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	if _, err := chromedp.Call(ui.Context(), emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		t.Fatalf("emulate colour scheme %q: %v", scheme, err)
	}
}
