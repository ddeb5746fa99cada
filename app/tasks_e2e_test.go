package app

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/a2a/a2atest"
	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
	"github.com/attach-dev/attach-gateway/a2a/examples/coder"
	"github.com/attach-dev/attach-gateway/a2a/examples/planner"
	"github.com/attach-dev/attach-gateway/app/browsertest"
)

// TestConsoleE2ETaskHandOff starts a hand-off to a real A2A agent from the
// demo chat page and follows it on the task page, which must go from
// working to completed while it stays loaded.
func TestConsoleE2ETaskHandOff(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, gw, u, ui := signedInLab(t, "tasks@example.test", "Tess Tasks", "", "tiny")
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, "lab", "coder", agent.URL, "")

	// The agent's `slow 40` reports "working" 40 times 100 ms apart: a
	// task that runs for about four seconds.
	ui.open(gw.URL + "/console/t/lab/chat")
	ui.fill("#handoff-input", "slow 40")
	ui.click("#handoff-send")
	// The chat page shows the task's tree as soon as the agent names it.
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="handoff-live"]//*[@data-testid="task-node"]/strong[.="coder"]`)))
	ui.shot("01-chat-hand-off")

	ui.clickToLoad("#handoff-task-link")
	if !strings.HasPrefix(ui.location().Path, "/console/t/lab/tasks/") {
		t.Fatalf("the task link led to %s", ui.location())
	}
	// A mark in the page's own window: a reload would lose it.
	uiEval[bool](ui, `window.stayedLoaded = true`)
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@data-testid="task-state" and @data-state="working"]`)))
	ui.shot("02-task-working")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@data-testid="task-state" and @data-state="completed"]`)))
	if !uiEval[bool](ui, `window.stayedLoaded === true`) {
		t.Fatal("the task page reloaded to show the task's end")
	}
	// The story: the message sent, the steps, the agent's artifact.
	story := ui.text("#task-story")
	for _, want := range []string{"slow 40", "working", "step 1/40", "completed", "done", "slow 40 done"} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q: %s", want, story)
		}
	}
	if got := ui.text(`[data-testid="task-node"]`); !strings.Contains(got, "coder") || !strings.Contains(got, u.Name) {
		t.Errorf("tree node = %q", got)
	}
	ui.shot("task-tree")

	// The tasks list has it, completed, with a link back to it.
	ui.open(gw.URL + "/console/t/lab/tasks?state=completed&agent=coder")
	if got := ui.text(`[data-testid="task-row"] [data-testid="task-state"]`); got != "completed" {
		t.Errorf("list shows state %q", got)
	}
	ui.shot("03-tasks-list")
}

// TestConsoleE2EDemoTree is the demo in the browser: a hand-off to the
// planner (A2A 0.3) from the chat page, which hands the coder (A2A 1.0) a
// plan through the gateway; the task page shows the two-level tree.
func TestConsoleE2EDemoTree(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, gw, _, ui := signedInLab(t, "demo@example.test", "Dee Demo", "", "tiny")
	team := callback.Gateway{URL: gw.URL, Team: "lab"}
	plannerURL := startDemoAgent(t, func(ctx context.Context, ln net.Listener) error {
		return planner.Serve(ctx, ln, planner.Config{Gateway: team, Logger: testLogger()})
	})
	coderURL := startDemoAgent(t, func(ctx context.Context, ln net.Listener) error {
		return coder.Serve(ctx, ln, coder.Config{Gateway: team, Logger: testLogger()})
	})
	registerAgent(t, gw, "lab", "planner", plannerURL, "")
	registerAgent(t, gw, "lab", "coder", coderURL, "")

	ui.open(gw.URL + "/console/t/lab/chat")
	uiEval[string](ui, `document.querySelector('#handoff-agent').value = 'planner'`)
	ui.fill("#handoff-input", "build a hello world")
	ui.click("#handoff-send")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="handoff-live"]//*[@data-testid="task-node"]/strong[.="planner"]`)))
	ui.clickToLoad("#handoff-task-link")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@data-testid="task-state" and @data-state="completed"]`)))
	// The coder's task is the planner's child in the tree.
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@data-testid="task-node"]/a[.="coder"]`)))
	nodes := uiEval[[]string](ui, `[...document.querySelectorAll('[data-testid="task-node"]')].map(n => n.textContent)`)
	if len(nodes) != 2 || !strings.Contains(nodes[0], "planner") || !strings.Contains(nodes[1], "coder") {
		t.Errorf("tree = %q; want the planner, then the coder under it", nodes)
	}
	ui.shot("demo-task-tree")
}
