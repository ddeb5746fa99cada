package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/tenants"
)

// admin calls the gateway's management API.
type admin struct {
	base  string // http://HOST:PORT/admin/v1
	token string
}

// do sends a JSON body (nil for none) and returns the status and body.
func (a admin) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

type agentJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	BaseURL string `json:"base_url"`
}

// registerAgent registers (or points again) the team's agent name at
// baseURL. The management API fetches the card on save. A gateway whose
// management API has no agents routes yet gets the agent written to its
// Postgres directly, as `registerAgentInDB` says. It returns how the agent
// was registered.
func (a admin) registerAgent(ctx context.Context, team, name, baseURL, dsn string) (string, error) {
	in := map[string]string{"name": name, "base_url": baseURL, "version": "auto"}
	path := "/teams/" + url.PathEscape(team) + "/agents"
	const viaAPI = "registered with POST /admin/v1/teams/{team}/agents"
	status, body, err := a.do(ctx, http.MethodPost, path, in)
	if err != nil {
		return "", err
	}
	switch status {
	case http.StatusCreated:
		return viaAPI, nil
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "written to the gateway's database (this gateway's management API has no agents routes)",
			registerAgentInDB(ctx, dsn, team, name, baseURL)
	case http.StatusConflict:
		// Registered by an earlier run: point it at this run's address.
		status, body, err = a.do(ctx, http.MethodGet, path+"?limit=200", nil)
		if err != nil || status != http.StatusOK {
			return "", fmt.Errorf("list agents: HTTP %d %s %v", status, body, err)
		}
		var list struct{ Items []agentJSON }
		if err := json.Unmarshal(body, &list); err != nil {
			return "", fmt.Errorf("list agents: %w", err)
		}
		for _, ag := range list.Items {
			if ag.Name == name {
				status, body, err = a.do(ctx, http.MethodPut, path+"/"+url.PathEscape(ag.ID), in)
				if err != nil || status != http.StatusOK {
					return "", fmt.Errorf("update agent %s: HTTP %d %s %v", name, status, body, err)
				}
				return viaAPI, nil
			}
		}
	}
	return "", fmt.Errorf("register agent %s: HTTP %d %s", name, status, body)
}

// registerAgentInDB writes the agent into the gateway's Postgres with the
// same store the management API uses and records its card; the gateway
// hears of it through LISTEN/NOTIFY like any other change. It is for
// gateways built before the management API had agents.
func registerAgentInDB(ctx context.Context, dsn, team, name, baseURL string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open the gateway's database: %w", err)
	}
	defer pool.Close()
	store := tenants.NewStore(pool, nil)
	t, err := store.GetTeam(ctx, team)
	if err != nil {
		return fmt.Errorf("team %s: %w", team, err)
	}
	in := tenants.AgentInput{Name: name, BaseURL: baseURL, Version: attach.A2AVersionAuto}
	ag, err := store.GetAgentByName(ctx, t.ID, name)
	switch {
	case attach.ErrorCode(err) == attach.CodeNotFound:
		ag, err = store.CreateAgent(ctx, t.ID, in)
	case err == nil:
		ag, err = store.UpdateAgent(ctx, t.ID, ag.ID, in)
	}
	if err != nil {
		return fmt.Errorf("register agent %s: %w", name, err)
	}
	card, err := a2a.FetchCard(ctx, &http.Client{Timeout: 10 * time.Second}, baseURL, "")
	fetchErr := ""
	if err != nil {
		fetchErr = err.Error()
	}
	if _, err := store.SetAgentCard(ctx, t.ID, ag.ID, card.Raw, card.Version, fetchErr); err != nil {
		return fmt.Errorf("record agent %s's card: %w", name, err)
	}
	if fetchErr != "" {
		return fmt.Errorf("agent %s's card: %s", name, fetchErr)
	}
	return nil
}

// mintKey makes an API key for the demo's user and returns its secret and
// the user the gateway will stamp on its requests (apikey:<id>).
func (a admin) mintKey(ctx context.Context, team string) (secret, user string, err error) {
	status, body, err := a.do(ctx, http.MethodPost, "/teams/"+url.PathEscape(team)+"/keys", map[string]string{"name": "demo user"})
	if err != nil {
		return "", "", err
	}
	if status != http.StatusCreated {
		return "", "", fmt.Errorf("mint an API key: HTTP %d %s", status, body)
	}
	var k struct{ ID, Key string }
	if err := json.Unmarshal(body, &k); err != nil || k.Key == "" {
		return "", "", fmt.Errorf("mint an API key: unexpected answer: %v", err)
	}
	return k.Key, "apikey:" + k.ID, nil
}
