package app

import (
	"fmt"
	"strings"
	"testing"

	a2ago "github.com/a2aproject/a2a-go/a2a"

	"github.com/attach-dev/attach-gateway/a2a/a2atest"
)

// An engine or agent whose address is the gateway itself, with a key of
// the team as its credential, would have each request call the gateway
// again without end. The first repeat is refused.
func TestLoopsEndAtTheFirstRepeat(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	tok := idp.Token(t, "api://default")
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"loop","name":"Loop"}`, 201)
	key := admin.post("/teams/loop/keys", `{"name":"k"}`, 201)["key"].(string)
	admin.post("/teams/loop/engines", `{"name":"self","dialect":"ollama","base_url":"`+gw.URL+`/t/loop","api_key":"`+key+`","default":true}`, 201)
	waitForTeam(t, gw, "loop", 1, 0)
	waitFor(t, "the key", func() bool {
		resp, _ := call(t, "GET", gw.URL+"/t/loop/a2a/agents", key, "")
		return resp.StatusCode == 200
	})

	resp, body := call(t, "POST", gw.URL+"/t/loop/api/chat", key, chatBody)
	if resp.StatusCode != 508 || errorCode(t, body) != "loop_detected" {
		t.Fatalf("chat through an engine that is the gateway: %d %s", resp.StatusCode, body)
	}
	_, metrics := call(t, "GET", gw.URL+"/metrics", "", "")
	requests := 0
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "attach_http_requests_total{") && strings.Contains(line, `status="508"`) {
			var n int
			fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%d", &n)
			requests += n
		}
	}
	if requests != 2 {
		t.Errorf("%d requests answered 508; want the client's and its one repeat", requests)
	}

	// An agent that is the gateway: the task fails with the reason.
	registerAgent(t, gw, "loop", "self", gw.URL+"/t/loop/a2a/self", key)
	task := send03(t, a2atest.Client03(t, gw.URL+"/t/loop/a2a/self", key), userMsg("echo hi"))
	if task.Status.State != a2ago.TaskStateFailed || task.Status.Message == nil ||
		!strings.Contains(task.Status.Message.Parts[0].(a2ago.TextPart).Text, "the gateway itself") {
		t.Errorf("agent that is the gateway: %s %v", task.Status.State, task.Status.Message)
	}

	// Another gateway in the chain is not a loop.
	resp, _ = call(t, "POST", gw.URL+"/api/chat", tok, chatBody, "Via", "1.1 attach-0123456789ab, 1.1 proxy")
	if resp.StatusCode != 200 {
		t.Errorf("a request through another gateway: %d", resp.StatusCode)
	}
}
