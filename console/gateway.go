package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// The team's home: its hosted URL, snippets filled with its real values,
// and "Try it", which sends one message through the gateway as the
// signed-in user.

const (
	// modelPages bounds how much of a very large engine list is read for the
	// model suggestions: 5 pages of 200 engines.
	modelPages       = 5
	modelPageLimit   = 200
	modelFallback    = "YOUR_MODEL"
	tokenPlaceholder = "$ATTACH_TOKEN"
)

// teamModels gathers the models the team's engines list, those of the
// default engine first.
func (c *Console) teamModels(ctx context.Context, teamID string) (models []string, hasEngine bool, err error) {
	var first, rest []string
	page := tenants.Page{Limit: modelPageLimit}
	for range modelPages {
		list, next, err := c.store.ListEngines(ctx, teamID, page)
		if err != nil {
			return nil, false, err
		}
		for _, e := range list {
			hasEngine = true
			if e.Default {
				first = append(first, e.Models...)
			} else {
				rest = append(rest, e.Models...)
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	for _, m := range append(first, rest...) {
		if !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	return models, hasEngine, nil
}

func (c *Console) gatewayPage(fc *fiber.Ctx) error {
	return c.renderGateway(fc, fiber.StatusOK, tryView{})
}

func (c *Console) renderGateway(fc *fiber.Ctx, status int, try tryView) error {
	t := current(fc)
	models, hasEngine, err := c.teamModels(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.storeFail(fc, "list engines", err)
	}
	model := modelFallback
	if len(models) > 0 {
		model = models[0]
	}
	if try.Model == "" && len(models) > 0 {
		try.Model = models[0]
	}
	hosted := c.hostedURL(t.team.Slug)
	agents, err := c.teamAgents(fc.UserContext(), t.team.ID, hosted)
	if err != nil {
		return c.storeFail(fc, "list agents", err)
	}
	v := gatewayView{
		Hosted: hosted, Models: models, Model: model, HasEngine: hasEngine, Agents: agents,
		CanUse: t.canUse(), CanEdit: t.role.CanManageTeam(),
		Snippets: snippets(hosted, model), Try: try,
	}
	return render(fc, status, gatewayPage(c.teamChrome(fc, t.team.Name, "gateway"), v))
}

// agentPageLimit bounds the agents the gateway page lists: one page of
// the store's largest.
const agentPageLimit = 200

// teamAgents lists the team's agents with the URLs its callers reach them
// at.
func (c *Console) teamAgents(ctx context.Context, teamID, hosted string) ([]agentLink, error) {
	list, _, err := c.store.ListAgents(ctx, teamID, tenants.Page{Limit: agentPageLimit})
	if err != nil {
		return nil, err
	}
	links := make([]agentLink, 0, len(list))
	for _, a := range list {
		links = append(links, agentLink{Name: a.Name, URL: agentURL(hosted, a.Name)})
	}
	return links, nil
}

// snippets are ready-to-paste ways to call the team's gateway.
func snippets(hosted, model string) []snippet {
	chat, _ := json.Marshal(chatRequest{Model: model, Messages: []chatMessage{{Role: "user", Content: "Hello"}}})
	return []snippet{
		{
			ID: "snippet-curl", Title: "curl",
			Note: "Set ATTACH_TOKEN to a token from your identity provider or an API key.",
			Code: "curl " + hosted + "/api/chat \\\n" +
				"  -H \"Authorization: Bearer " + tokenPlaceholder + "\" \\\n" +
				"  -d '" + string(chat) + "'",
		},
		{
			ID: "snippet-openai", Title: "OpenAI SDK (Python)",
			Code: "import os\nfrom openai import OpenAI\n\n" +
				"client = OpenAI(base_url=\"" + hosted + "/v1\", api_key=os.environ[\"ATTACH_TOKEN\"])\n" +
				"reply = client.chat.completions.create(\n" +
				"    model=" + pyString(model) + ",\n" +
				"    messages=[{\"role\": \"user\", \"content\": \"Hello\"}],\n" +
				")\n" +
				"print(reply.choices[0].message.content)",
		},
		{
			ID: "snippet-ollama", Title: "Ollama client (Python)",
			Code: "import os\nfrom ollama import Client\n\n" +
				"client = Client(host=\"" + hosted + "\",\n" +
				"                headers={\"Authorization\": \"Bearer \" + os.environ[\"ATTACH_TOKEN\"]})\n" +
				"reply = client.chat(model=" + pyString(model) + ", messages=[{\"role\": \"user\", \"content\": \"Hello\"}])\n" +
				"print(reply.message.content)",
		},
	}
}

// chatRequest is an Ollama /api/chat request without streaming; a struct
// keeps the fields in the order people expect to read them.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// pyString quotes s as a Python string literal (JSON's rules are a subset).
func pyString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tryIt is "Try it" without script: the console calls the gateway itself,
// at its own address, with a token minted for the user, and shows the
// answer. The browser's user agent goes along, so the session id is the one
// the browser would get.
func (c *Console) tryIt(fc *fiber.Ctx) error {
	t := current(fc)
	v := tryView{Model: form(fc, "model"), Message: strings.TrimSpace(fc.FormValue("message")), Errors: formErrors{}}
	if v.Model == "" {
		v.Errors.add("model", "Choose a model")
	}
	if v.Message == "" {
		v.Errors.add("message", "Type a message")
	}
	if len(v.Errors) > 0 {
		return c.renderGateway(fc, fiber.StatusUnprocessableEntity, v)
	}
	v.Ran = true
	v.Answer, v.SessionID, v.Problem = c.callGateway(fc.UserContext(), t.team, me(fc), v.Model, v.Message, fc.Get(fiber.HeaderUserAgent))
	return c.renderGateway(fc, fiber.StatusOK, v)
}

// tryTimeout bounds the whole call, generation included.
const tryTimeout = 90 * time.Second

func (c *Console) callGateway(ctx context.Context, team attach.Team, user *signedIn, model, message, userAgent string) (answer, sessionID, problem string) {
	ctx, cancel := context.WithTimeout(ctx, tryTimeout)
	defer cancel()
	m, err := c.mint.MintToken(ctx, team, user.user, user.token)
	if err != nil {
		c.log.Error("console: mint token", "team", team.Slug, "err", err)
		return "", "", "The console could not make a token for you. Try again in a moment."
	}
	body, err := json.Marshal(chatRequest{Model: model, Messages: []chatMessage{{Role: "user", Content: message}}})
	if err != nil {
		return "", "", "The message could not be encoded."
	}
	target := c.cfg.GatewayURL + "/t/" + url.PathEscape(team.Slug) + "/api/chat"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", "", "The gateway address is not valid."
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if userAgent != "" {
		req.Header.Set("User-Agent", attach.CutUTF8(userAgent, 500))
	}
	resp, err := c.cfg.GatewayClient.Do(req)
	if err != nil {
		c.log.Warn("console: try it", "team", team.Slug, "err", err)
		return "", "", "The gateway could not be reached from the console."
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", "The gateway's answer was cut off."
	}
	sessionID = resp.Header.Get("X-Attach-Session-Id")
	if resp.StatusCode != http.StatusOK {
		return "", sessionID, fmt.Sprintf("The gateway answered %d: %s", resp.StatusCode, errorMessage(raw))
	}
	var out struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", sessionID, "The engine's answer was not the JSON the console expected."
	}
	return out.Message.Content, sessionID, ""
}

// errorMessage reads the message of an error answer, in the gateway's
// shape ({"error":{"message"}}) or Ollama's ({"error":"..."}).
func errorMessage(raw []byte) string {
	var gw struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &gw) == nil && gw.Error.Message != "" {
		return gw.Error.Message
	}
	var ol struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &ol) == nil && ol.Error != "" {
		return ol.Error
	}
	return "no details"
}

func (c *Console) chatPage(fc *fiber.Ctx) error {
	t := current(fc)
	models, _, err := c.teamModels(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.storeFail(fc, "list engines", err)
	}
	v := chatView{Models: models, CanUse: t.canUse(), Tasks: c.tasks != nil, User: userName(me(fc).user)}
	if len(models) > 0 {
		v.Model = models[0]
	}
	// The agents a hand-off can go to; a team with more than a page of
	// them is offered the first page.
	agents, _, err := c.store.ListAgents(fc.UserContext(), t.team.ID, tenants.Page{Limit: 200})
	if err != nil {
		return c.storeFail(fc, "list agents", err)
	}
	for _, a := range agents {
		v.Agents = append(v.Agents, a.Name)
	}
	ch := c.teamChrome(fc, "Chat", "chat")
	ch.Scripts = []string{"/static/chat.js", "/static/tasks.js"}
	return render(fc, fiber.StatusOK, chatPage(ch, v))
}

// mintResponse is what the browser gets to call the team's engine routes
// as the signed-in user.
type mintResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      string    `json:"user"`   // X-Attach-User the engine will see
	Tenant    string    `json:"tenant"` // X-Attach-Tenant
	ChatURL   string    `json:"chat_url"`
}

// mintToken gives the page's script a short-lived token. It is a POST with
// the CSRF header, so another site cannot have one minted.
func (c *Console) mintToken(fc *fiber.Ctx) error {
	t := current(fc)
	m, err := c.mint.MintToken(fc.UserContext(), t.team, me(fc).user, me(fc).token)
	if err != nil {
		c.log.Error("console: mint token", "team", t.team.Slug, "err", err)
		return web.WriteError(fc, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: "mint_failed", Message: "the console could not make a token for you; try again in a moment"})
	}
	return writeJSON(fc, fiber.StatusOK, mintResponse{
		Token: m.Token, ExpiresAt: m.ExpiresAt, User: m.Subject, Tenant: t.team.Slug,
		ChatURL: "/t/" + url.PathEscape(t.team.Slug) + "/api/chat",
	})
}
