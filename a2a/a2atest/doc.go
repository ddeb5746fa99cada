// Package a2atest runs real A2A agents and clients of both protocol
// versions on 127.0.0.1 for tests, so the gateway's A2A relay is tested
// against the SDKs themselves rather than hand-written imitations:
//
//   - StartAgent03: an A2A 0.3 agent built in-process on the a2a-go SDK
//     (github.com/a2aproject/a2a-go v0.3.3), JSON-RPC binding;
//   - StartAgent10: an A2A 1.0 agent, js/agent.mjs on the npm package
//     @a2a-js/sdk 1.3.0 (with express), JSON-RPC binding, run by node;
//   - Client03: an a2a-go 0.3 client;
//   - RunJS10: one operation of the @a2a-js/sdk 1.0 client (js/client.mjs),
//     and RunJS10Steps: several, one after the other, in one node process.
//
// Results of the 1.0 client come back in A2A 1.0 wire form (JS10Result).
// Agent.LastHeaders tells which headers an agent last received.
//
// Both agents answer JSON-RPC at their base URL (Agent.URL), name it in their
// card at Agent.CardURL (URL + /.well-known/agent-card.json), and behave
// alike, driven by the text of the user message:
//
//	echo <text>     task: submitted, working, an artifact "echo" with <text>,
//	                completed with an agent status message <text>
//	slow <n>        task: submitted, n working updates ~100 ms apart (status
//	                messages "step i/n"), an artifact, completed ("done")
//	wait            task: submitted, working, until canceled; a cancel ends
//	                it canceled (status message "canceled")
//	fail            task: submitted, failed with status message "failed on request"
//	headers         task completed; the artifact and the status message are
//	                the JSON text of a HeaderReport: the X-Attach-* request
//	                headers by lower-case name, and whether an Authorization
//	                header arrived
//	message <text>  a plain agent Message with <text>, no task
//	anything else   as echo of the whole text
//
// A gateway test, for instance:
//
//	agent := a2atest.StartAgent10(t)
//	// ... register agent.URL behind the gateway at /t/team/a2a/name ...
//	res := a2atest.RunJS10(t, gw.URL+"/t/team/a2a/name", token, a2atest.JS10{Op: "send", Text: "echo hi"})
//	// res.Result is {"task": {... "status": {"state": "TASK_STATE_COMPLETED", ...}}}
//
//	steps := a2atest.RunJS10Steps(t, gw.URL+"/t/team/a2a/name", token,
//		a2atest.JS10{Op: "send-nonblocking", Text: "wait"},
//		a2atest.JS10{Op: "cancel", TaskID: "$task"})
//
//	c := a2atest.Client03(t, gw.URL+"/t/team/a2a/name", token)
//	got, err := c.SendMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: "headers"})})
//	// got is an *a2a.Task whose artifact is the JSON of a HeaderReport
//
// testdata/wire holds raw JSON-RPC requests, responses and SSE events of
// both versions, as these SDKs put them on the wire (see
// testdata/wire/README.md); WireSample reads one, and
// `go test ./a2a/a2atest -run TestWire -update` records them again.
//
// node must be on PATH and the npm packages installed (`make deps`, which
// runs `npm ci --prefix a2a/a2atest/js`); the tests that need them fail
// otherwise.
package a2atest
