package a2a

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The samples in testdata/wire are real exchanges recorded from the two
// reference SDKs: v03/ an a2a-go v0.3.3 client and agent, v10/ an
// @a2a-js/sdk 1.3.0 client and agent, each file one request and its answer
// in the same scenario. The agents are different programs, so ids,
// timestamps and some behaviour differ; the tests compare shapes: the
// member paths of each value, with the values of kind, role and state.

type sample struct {
	Request struct {
		Body struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		} `json:"body"`
	} `json:"request"`
	Response struct {
		RawBody json.RawMessage `json:"body"`
		Body    struct {
			Result json.RawMessage `json:"result"`
			Error  *RPCError       `json:"error"`
		} `json:"-"`
		Events []struct {
			Result json.RawMessage `json:"result"`
			Error  *RPCError       `json:"error"`
		} `json:"events"`
	} `json:"response"`
}

func readSample(t *testing.T, version, name string) sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "wire", version, name))
	if err != nil {
		t.Fatal(err)
	}
	var s sample
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s/%s: %v", version, name, err)
	}
	if len(s.Response.RawBody) > 0 {
		if err := json.Unmarshal(s.Response.RawBody, &s.Response.Body); err != nil {
			t.Fatalf("%s/%s: body: %v", version, name, err)
		}
	}
	return s
}

// shape lists the member paths of a JSON value, arrays as "[]", with the
// value of each kind, role and state member, which is what a translation
// must get right; other values (ids, texts, times) are left out. So are
// two differences of the agents seen in every sample: the 1.0 agent labels
// its text parts with a mediaType (which 0.3 text parts cannot carry), and
// the agents keep different histories (the 0.3 one only the user's
// messages, as sent; the 1.0 one the agent's too, all with their ids).
func shape(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	v, err := decode(raw)
	if err != nil {
		t.Fatalf("shape of %s: %v", raw, err)
	}
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := prefix + "." + k
				switch k {
				case "kind", "role", "state":
					if s, ok := e.(string); ok {
						p += "=" + s
					}
				}
				if ignoredPath(p) {
					continue
				}
				out[p] = true
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e)
			}
		}
	}
	walk("", v)
	return out
}

func ignoredPath(p string) bool {
	if strings.HasSuffix(p, "parts[].mediaType") {
		return true
	}
	for _, h := range []string{"history[].contextId", "history[].taskId", "history[].role=agent", "history[].role=ROLE_AGENT"} {
		if strings.HasSuffix(p, h) {
			return true
		}
	}
	return false
}

// shapeDiff lists the paths only in got (+) and only in want (-), less the
// differences explained in allowed (by path, with its sign).
func shapeDiff(got, want map[string]bool, allowed map[string]string) []string {
	var diff []string
	for p := range got {
		if !want[p] {
			if _, ok := allowed["+"+p]; !ok {
				diff = append(diff, "+"+p)
			}
		}
	}
	for p := range want {
		if !got[p] {
			if _, ok := allowed["-"+p]; !ok {
				diff = append(diff, "-"+p)
			}
		}
	}
	sort.Strings(diff)
	return diff
}

func checkShape(t *testing.T, what string, got, want []byte, allowed map[string]string) {
	t.Helper()
	if diff := shapeDiff(shape(t, got), shape(t, want), allowed); len(diff) > 0 {
		t.Errorf("%s: shapes differ:\n  %s\n got  %s\n want %s", what, strings.Join(diff, "\n  "), got, want)
	}
}

func TestWireSamplesShapes(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "wire", "v03", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, path := range names {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			s03, s10 := readSample(t, "v03", name), readSample(t, "v10", name)
			allowed := sampleDifferences[name]
			if name == "card.json" {
				checkCard(t, s03, s10)
				return
			}
			for dir, pair := range map[string][2]sample{"0.3 to 1.0": {s03, s10}, "1.0 to 0.3": {s10, s03}} {
				from, to := V03, V10
				if dir == "1.0 to 0.3" {
					from, to = V10, V03
				}
				src, dst := pair[0], pair[1]
				m, ok := MethodOf(from, src.Request.Body.Method)
				if !ok {
					// A request made by hand in the other version's words:
					// only the error it met is compared.
					checkError(t, dir, from, to, src.Response.Body.Error, dst.Response.Body.Error, allowed)
					return
				}
				if got := WireName(to, m); got != dst.Request.Body.Method {
					t.Errorf("%s: method %s becomes %q, the SDK sends %q", dir, src.Request.Body.Method, got, dst.Request.Body.Method)
				}
				if src.Response.Body.Error != nil {
					checkError(t, dir, from, to, src.Response.Body.Error, dst.Response.Body.Error, allowed)
				}
				if json.Valid(src.Request.Body.Params) && src.Response.Body.Error == nil {
					params, err := TranslateParams(from, to, m, src.Request.Body.Params)
					if err != nil {
						t.Fatalf("%s: params: %v", dir, err)
					}
					checkShape(t, dir+" params", params, dst.Request.Body.Params, allowed)
				}
				if len(src.Response.Body.Result) > 0 {
					result, err := TranslateResult(from, to, m, src.Response.Body.Result)
					if err != nil {
						t.Fatalf("%s: result: %v", dir, err)
					}
					checkShape(t, dir+" result", result, dst.Response.Body.Result, allowed)
					if _, ok := allowed["outcome"]; !ok {
						checkOutcome(t, dir, from, to, m, src.Response.Body.Result, dst.Response.Body.Result)
					}
				}
				if len(src.Response.Events) > 0 {
					checkEvents(t, dir, from, to, m, src, dst, allowed)
				}
			}
		})
	}
}

// checkEvents translates each event of a stream and compares them one by
// one. When the streams differ in length (a 1.0 subscription starts with
// the task, a 0.3 one does not) only the last events are compared.
func checkEvents(t *testing.T, dir, from, to string, m Method, src, dst sample, allowed map[string]string) {
	t.Helper()
	same := len(src.Response.Events) == len(dst.Response.Events)
	var last json.RawMessage
	for i, e := range src.Response.Events {
		got, err := TranslateEvent(from, to, e.Result)
		if err != nil {
			t.Fatalf("%s: event %d: %v", dir, i, err)
		}
		last = got
		if same {
			checkShape(t, fmt.Sprintf("%s event %d", dir, i), got, dst.Response.Events[i].Result, allowed)
		}
	}
	lastWant := dst.Response.Events[len(dst.Response.Events)-1].Result
	if !same {
		checkShape(t, dir+" last event", last, lastWant, allowed)
	}
	// Both streams end at the same state, and the translated one says so.
	checkOutcome(t, dir+" last event", from, to, m, src.Response.Events[len(src.Response.Events)-1].Result, lastWant)
	o, err := ReadOutcome(to, m, last)
	if err != nil || !o.Final {
		t.Errorf("%s: the translated last event does not end the stream: %+v %v", dir, o, err)
	}
}

// checkOutcome compares what the gateway records of a result in both
// versions: the state reached and whether the exchange is over.
func checkOutcome(t *testing.T, dir, from, to string, m Method, src, dst json.RawMessage) {
	t.Helper()
	a, err := ReadOutcome(from, m, src)
	if err != nil {
		t.Fatalf("%s: outcome: %v", dir, err)
	}
	b, err := ReadOutcome(to, m, dst)
	if err != nil {
		t.Fatalf("%s: outcome: %v", dir, err)
	}
	if a.State != b.State || a.Final != b.Final || (a.Task == nil) != (b.Task == nil) || (a.Message == nil) != (b.Message == nil) {
		t.Errorf("%s: outcomes differ:\n %+v\n %+v", dir, a, b)
	}
}

func checkError(t *testing.T, dir, from, to string, src, dst *RPCError, allowed map[string]string) {
	t.Helper()
	if src == nil || dst == nil {
		t.Fatalf("%s: an error on one side only: %v, %v", dir, src, dst)
	}
	got := TranslateError(from, to, src)
	if _, ok := allowed["code"]; !ok && got.Code != dst.Code {
		t.Errorf("%s: code %d, the other SDK answers %d", dir, got.Code, dst.Code)
	}
	checkShape(t, dir+" error data", got.Data, dst.Data, allowed)
}

// checkCard translates each agent's card (the body of a GET, not JSON-RPC)
// as the extended card's result.
func checkCard(t *testing.T, s03, s10 sample) {
	t.Helper()
	got10, err := TranslateResult(V03, V10, MethodExtendedCard, s03.Response.RawBody)
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, "card 0.3 to 1.0", got10, s10.Response.RawBody, map[string]string{
		"-.supportedInterfaces[].tenant":   "the 1.0 SDK writes an empty tenant",
		"-.securitySchemes":                "the 1.0 SDK writes empty lists and maps",
		"-.securityRequirements":           "the 1.0 SDK writes empty lists and maps",
		"-.signatures":                     "the 1.0 SDK writes empty lists and maps",
		"-.skills[].inputModes":            "the 1.0 SDK writes empty lists and maps",
		"-.skills[].outputModes":           "the 1.0 SDK writes empty lists and maps",
		"-.skills[].securityRequirements":  "the 1.0 SDK writes empty lists and maps",
		"-.capabilities.extensions":        "the 1.0 SDK writes empty lists and maps",
		"-.capabilities.pushNotifications": "the 0.3 card leaves out false flags",
		"-.capabilities.extendedAgentCard": "the 0.3 card leaves out false flags",
	})
	got03, err := TranslateResult(V10, V03, MethodExtendedCard, s10.Response.RawBody)
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, "card 1.0 to 0.3", got03, s03.Response.RawBody, map[string]string{
		"+.securitySchemes":                   "the 1.0 SDK writes empty lists and maps",
		"+.security":                          "the 1.0 SDK writes empty lists and maps",
		"+.signatures":                        "the 1.0 SDK writes empty lists and maps",
		"+.skills[].inputModes":               "the 1.0 SDK writes empty lists and maps",
		"+.skills[].outputModes":              "the 1.0 SDK writes empty lists and maps",
		"+.skills[].security":                 "the 1.0 SDK writes empty lists and maps",
		"+.capabilities.extensions":           "the 1.0 SDK writes empty lists and maps",
		"+.capabilities.pushNotifications":    "the 0.3 card leaves out false flags",
		"+.supportsAuthenticatedExtendedCard": "the 0.3 card leaves out false flags",
	})
}

// Send params: the 0.3 client leaves configuration out, the 1.0 one sends
// an empty one, and towards 0.3 blocking is always written.
var sendParamsDifferences = map[string]string{
	"-.configuration":          "the 1.0 client sends an empty configuration",
	"+.configuration":          "blocking is written for 0.3 agents",
	"+.configuration.blocking": "blocking is written for 0.3 agents",
}

// Errors: towards 1.0 the 0.3 agent's detail (data.error) rides along in
// the ErrorInfo's metadata; the 1.0 agent sends none.
var errorDifferences = map[string]string{
	"+[].metadata":       "the 0.3 detail, kept",
	"+[].metadata.error": "the 0.3 detail, kept",
}

func with(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// sampleDifferences explains, per sample, the shape differences that come
// from the two SDKs behaving differently, not from translation.
var sampleDifferences = map[string]map[string]string{
	"send-task.json":    sendParamsDifferences,
	"send-message.json": sendParamsDifferences,
	"send-failed.json":  sendParamsDifferences,
	"stream.json": with(sendParamsDifferences, map[string]string{
		"-.task.status.timestamp": "a2a-go stamps no time on the submitted task",
		"+.status.timestamp":      "a2a-go stamps no time on the submitted task",
	}),
	"error-task-not-found.json": errorDifferences,
	"error-not-cancelable.json": errorDifferences,
	"send-nonblocking.json": {
		// The 0.3 agent answers once the task is working, with a status
		// message; the 1.0 agent as soon as it is submitted.
		"outcome":                                  "",
		"+.task.status.state=TASK_STATE_WORKING":   "",
		"-.task.status.state=TASK_STATE_SUBMITTED": "",
		"+.status.state=submitted":                 "",
		"-.status.state=working":                   "",
		"+.task.status.message":                    "",
		"+.task.status.message.contextId":          "",
		"+.task.status.message.messageId":          "",
		"+.task.status.message.parts":              "",
		"+.task.status.message.parts[].text":       "",
		"+.task.status.message.role=ROLE_AGENT":    "",
		"+.task.status.message.taskId":             "",
		"-.status.message":                         "",
		"-.status.message.contextId":               "",
		"-.status.message.kind=message":            "",
		"-.status.message.messageId":               "",
		"-.status.message.parts":                   "",
		"-.status.message.parts[].kind=text":       "",
		"-.status.message.parts[].text":            "",
		"-.status.message.role=agent":              "",
		"-.status.message.taskId":                  "",
	},
	"error-invalid-params.json": with(errorDifferences, map[string]string{
		"code": "a2a-go reports params of the wrong type as a parse error",
	}),
	"error-method-not-found.json": {
		// The 1.0 agent answers a 0.3 request with version not supported;
		// the 0.3 agent a 1.0 one with method not found, which has no
		// ErrorInfo reason.
		"code":       "",
		"+.error":    "",
		"-[].@type":  "",
		"-[].domain": "",
		"-[].reason": "",
	},
}

// Every real value translates there and back to itself, less what the
// translation documents as lost: the mediaType of 1.0 text parts, and the
// blocking a 0.3 send gains.
func TestWireSamplesRoundTrip(t *testing.T) {
	for _, v := range []string{"v03", "v10"} {
		names, _ := filepath.Glob(filepath.Join("testdata", "wire", v, "*.json"))
		for _, path := range names {
			name := filepath.Base(path)
			if name == "card.json" || name == "list.json" {
				continue // cards are not JSON-RPC; 0.3 has no list
			}
			from, to := V03, V10
			if v == "v10" {
				from, to = V10, V03
			}
			s := readSample(t, v, name)
			m, ok := MethodOf(from, s.Request.Body.Method)
			if !ok {
				continue
			}
			there := func(as string, in []byte) {
				t.Helper()
				a, err := translate(as, from, to, m, in)
				if err != nil {
					t.Errorf("%s/%s %s: %v", v, name, as, err)
					return
				}
				b, err := translate(as, to, from, m, a)
				if err != nil {
					t.Errorf("%s/%s %s back: %v", v, name, as, err)
					return
				}
				if !sameJSON(t, normalizeSample(t, b), normalizeSample(t, in)) {
					t.Errorf("%s/%s %s round trip:\n got %s\nwant %s", v, name, as, b, in)
				}
			}
			if s.Response.Body.Error == nil {
				there(asParams, s.Request.Body.Params)
			}
			if len(s.Response.Body.Result) > 0 {
				there(asResult, s.Response.Body.Result)
			}
			for _, e := range s.Response.Events {
				there(asEvent, e.Result)
			}
		}
	}
}

func normalizeSample(t *testing.T, raw []byte) []byte {
	t.Helper()
	v, err := decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["text"].(string); ok {
				delete(x, "mediaType")
			}
			if c, ok := x["configuration"].(map[string]any); ok && len(c) == 1 && c["blocking"] == true {
				delete(x, "configuration")
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every request an SDK sent parses, and its method is known to its version.
func TestWireSamplesParse(t *testing.T) {
	for v, version := range map[string]string{"v03": V03, "v10": V10} {
		names, _ := filepath.Glob(filepath.Join("testdata", "wire", v, "*.json"))
		for _, path := range names {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var s struct {
				Request struct {
					Method string          `json:"method"`
					Body   json.RawMessage `json:"body"`
				} `json:"request"`
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if s.Request.Method != "POST" {
				continue // the card's GET
			}
			req, rerr := ParseRequest(s.Request.Body)
			if rerr != nil {
				t.Errorf("%s/%s: %v", v, filepath.Base(path), rerr)
				continue
			}
			_, known := MethodOf(version, req.Method)
			handMade := strings.HasPrefix(filepath.Base(path), "error-method-not-found")
			if known == handMade {
				t.Errorf("%s/%s: method %q known to %s: %v", v, filepath.Base(path), req.Method, version, known)
			}
			if TaskIDOf(version, MethodGetTask, req.Params) == "" && (req.Method == "tasks/get" || req.Method == "GetTask") {
				t.Errorf("%s/%s: no task id in %s", v, filepath.Base(path), req.Params)
			}
		}
	}
}
