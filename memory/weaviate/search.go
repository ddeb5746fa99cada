package weaviate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
)

// Result sizes: a Filter with no Limit gets defaultLimit events, and none
// gets more than maxLimit.
const (
	defaultLimit = 20
	maxLimit     = 1000
)

// eventFields are the properties a search reads back, enough to rebuild
// every Event field.
var eventFields = strings.Join([]string{
	propContent, propTeamID, propUser, propSession, propKind, propRole, propModel,
	propEngine, propTaskID, propTruncated, propMetadata, propCreatedAt, "_additional { id }",
}, " ")

// Search finds the team's events whose content matches text (BM25: whole
// words, no stemming) within the filter, best match first. Empty text lists
// the filtered events instead, newest first. A team that has never delivered
// anything has no events.
func (s *Sink) Search(ctx context.Context, text string, f memory.Filter) ([]attach.Event, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return s.get(ctx, f, `sort: [{path: ["`+propCreatedAt+`"], order: desc}]`)
	}
	return s.get(ctx, f, "bm25: {query: "+quote(text)+", properties: ["+quote(propContent)+"]}")
}

// SearchVector finds the team's events nearest to vector within the
// filter, nearest first. Only events delivered with DeliverWithVectors
// have a vector.
func (s *Sink) SearchVector(ctx context.Context, vector []float32, f memory.Filter) ([]attach.Event, error) {
	if len(vector) == 0 {
		return nil, attach.Invalid("vector", "must not be empty")
	}
	var b strings.Builder
	b.WriteString("nearVector: {vector: [")
	for i, x := range vector {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, attach.Invalid("vector", "must hold finite numbers")
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteString("]}")
	return s.get(ctx, f, b.String())
}

// get runs one Get query on the team's tenant with the given search or
// sort argument and the filter's conditions.
func (s *Sink) get(ctx context.Context, f memory.Filter, search string) ([]attach.Event, error) {
	tenant, err := TenantName(f.TeamID)
	if err != nil {
		return nil, fmt.Errorf("weaviate: search: %w", err)
	}
	limit, err := resultLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("weaviate: search: %w", err)
	}
	where, err := whereClause(f)
	if err != nil {
		return nil, fmt.Errorf("weaviate: search: %w", err)
	}
	args := []string{"tenant: " + quote(tenant), search}
	if where != "" {
		args = append(args, "where: "+where)
	}
	args = append(args, "limit: "+strconv.Itoa(limit))
	q := fmt.Sprintf("{ Get { %s(%s) { %s } } }", s.class, strings.Join(args, ", "), eventFields)

	var data struct {
		Get map[string][]wireEvent `json:"Get"`
	}
	if err := s.graphQL(ctx, q, &data); err != nil {
		if tenantMissing(err) {
			return []attach.Event{}, nil
		}
		return nil, fmt.Errorf("weaviate: search team %s: %w", f.TeamID, err)
	}
	found := data.Get[s.class]
	events := make([]attach.Event, 0, len(found))
	for _, w := range found {
		ev, err := w.event()
		if err != nil {
			return nil, fmt.Errorf("weaviate: search team %s: object %s: %w", f.TeamID, w.Additional.ID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

func resultLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, attach.Invalid("limit", "must not be negative")
	case n == 0:
		return defaultLimit, nil
	case n > maxLimit:
		return maxLimit, nil
	}
	return n, nil
}

// whereClause is the GraphQL where argument for the filter's conditions, or
// "" when it has none. Before is an event id; ids are UUIDv7, so "older
// than" is "id less than", which Weaviate compares as text.
func whereClause(f memory.Filter) (string, error) {
	var ops []string
	eq := func(path, value string) {
		if value != "" {
			ops = append(ops, fmt.Sprintf("{path: [%s], operator: Equal, valueText: %s}", quote(path), quote(value)))
		}
	}
	eq(propUser, f.User)
	eq(propSession, f.Session)
	eq(propKind, f.Kind)
	eq(propTaskID, f.TaskID)
	if f.Before != "" {
		id, err := uuid.Parse(f.Before)
		if err != nil {
			return "", attach.Invalid("before", "must be an event id")
		}
		ops = append(ops, fmt.Sprintf(`{path: ["id"], operator: LessThan, valueText: %s}`, quote(id.String())))
	}
	switch len(ops) {
	case 0:
		return "", nil
	case 1:
		return ops[0], nil
	}
	return "{operator: And, operands: [" + strings.Join(ops, ", ") + "]}", nil
}

// quote makes s a GraphQL string literal. A JSON string is one: JSON's
// escapes are a subset of GraphQL's, and control characters and quotes are
// escaped, so no user text can end the literal early.
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// graphQL runs a query and decodes its data into out. Weaviate reports
// query errors in the answer's errors with status 200, which the client
// returns with a nil error; they are errors here.
func (s *Sink) graphQL(ctx context.Context, query string, out any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.client.GraphQL().Raw().WithQuery(query).Do(ctx)
	if err != nil {
		return clientErr(err)
	}
	if len(resp.Errors) > 0 {
		return graphQLErr(resp.Errors)
	}
	b, err := json.Marshal(resp.Data)
	if err != nil {
		return fmt.Errorf("re-encode answer: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// wireEvent is one object as a Get query returns it. Properties never set
// come back as null, which decode as zero values.
type wireEvent struct {
	Content    string `json:"content"`
	TeamID     string `json:"teamId"`
	User       string `json:"user"`
	Session    string `json:"session"`
	Kind       string `json:"kind"`
	Role       string `json:"role"`
	Model      string `json:"model"`
	Engine     string `json:"engine"`
	TaskID     string `json:"taskId"`
	Truncated  bool   `json:"truncated"`
	Metadata   string `json:"metadata"`
	CreatedAt  string `json:"createdAt"`
	Additional struct {
		ID string `json:"id"`
	} `json:"_additional"`
}

func (w *wireEvent) event() (attach.Event, error) {
	ev := attach.Event{
		ID:        w.Additional.ID,
		TeamID:    w.TeamID,
		User:      w.User,
		Session:   w.Session,
		Kind:      w.Kind,
		Role:      w.Role,
		Model:     w.Model,
		Engine:    w.Engine,
		Content:   w.Content,
		Truncated: w.Truncated,
		TaskID:    w.TaskID,
	}
	if w.Metadata != "" {
		ev.Metadata = json.RawMessage(w.Metadata)
	}
	if w.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.CreatedAt)
		if err != nil {
			return attach.Event{}, fmt.Errorf("createdAt %q: %w", w.CreatedAt, err)
		}
		ev.CreatedAt = t.UTC()
	}
	return ev, nil
}
