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
// baseURL. The management API fetches the card on save.
func (a admin) registerAgent(ctx context.Context, team, name, baseURL string) error {
	in := map[string]string{"name": name, "base_url": baseURL, "version": "auto"}
	path := "/teams/" + url.PathEscape(team) + "/agents"
	status, body, err := a.do(ctx, http.MethodPost, path, in)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusCreated:
		return nil
	case http.StatusConflict:
		// Registered by an earlier run: point it at this run's address.
		status, body, err = a.do(ctx, http.MethodGet, path+"?limit=200", nil)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("list agents: HTTP %d %s %v", status, body, err)
		}
		var list struct{ Items []agentJSON }
		if err := json.Unmarshal(body, &list); err != nil {
			return fmt.Errorf("list agents: %w", err)
		}
		for _, ag := range list.Items {
			if ag.Name == name {
				status, body, err = a.do(ctx, http.MethodPut, path+"/"+url.PathEscape(ag.ID), in)
				if err != nil || status != http.StatusOK {
					return fmt.Errorf("update agent %s: HTTP %d %s %v", name, status, body, err)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("register agent %s: HTTP %d %s", name, status, body)
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
