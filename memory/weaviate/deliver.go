package weaviate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	"github.com/weaviate/weaviate/entities/models"

	attach "github.com/attach-dev/attach-gateway"
)

// A delivery is split into requests of at most maxBatchObjects objects and
// about maxBatchBytes of content, well under Weaviate's default gRPC message
// limit (10 MiB), so a batch of long prompts is not refused as too large.
const (
	maxBatchObjects = 1000
	maxBatchBytes   = 4 << 20
)

// maxReportedErrors is how many per-object errors a failed delivery names.
const maxReportedErrors = 3

// Deliver writes events, all of teamID, into the team's tenant, creating
// the tenant on first use. Each object's id is the event's id, so an event
// delivered again overwrites itself. If any object fails the whole call
// fails with one error naming the failures, and the caller retries the
// batch; the objects that were written are simply written again.
func (s *Sink) Deliver(ctx context.Context, teamID string, events []attach.Event) error {
	return s.deliver(ctx, teamID, events, nil)
}

// DeliverWithVectors is Deliver with a vector for each event (vectors[i]
// belongs to events[i]), for SearchVector. A nil vector stores the event
// without one. All vectors of a team must have the same length.
func (s *Sink) DeliverWithVectors(ctx context.Context, teamID string, events []attach.Event, vectors [][]float32) error {
	if len(vectors) != len(events) {
		return fmt.Errorf("weaviate: deliver: %d vectors for %d events", len(vectors), len(events))
	}
	return s.deliver(ctx, teamID, events, vectors)
}

func (s *Sink) deliver(ctx context.Context, teamID string, events []attach.Event, vectors [][]float32) error {
	if len(events) == 0 {
		return nil
	}
	tenant, err := TenantName(teamID)
	if err != nil {
		return fmt.Errorf("weaviate: deliver: %w", err)
	}
	objects := make([]*models.Object, len(events))
	for i := range events {
		id, err := checkEvent(&events[i], teamID)
		if err != nil {
			return fmt.Errorf("weaviate: deliver event %d of %d: %w", i+1, len(events), err)
		}
		objects[i] = s.object(&events[i], id, tenant)
		if vectors != nil {
			objects[i].Vector = vectors[i]
		}
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.ensureTenant(ctx, tenant); err != nil {
		return fmt.Errorf("weaviate: deliver to team %s: %w", teamID, err)
	}
	for start := 0; start < len(objects); {
		end := chunkEnd(events, start)
		if err := s.batch(ctx, objects[start:end]); err != nil {
			if tenantMissing(err) {
				// Removed by an operator since this process made it: make
				// it again when the caller retries.
				s.tenants.Delete(tenant)
			}
			return fmt.Errorf("weaviate: deliver %d events to team %s: %w", len(events), teamID, err)
		}
		start = end
	}
	return nil
}

// checkEvent refuses what Weaviate would refuse anyway, with a clearer
// message, and an event of another team, which must never be written into
// this team's tenant. It returns the event id in canonical form, the only
// one Weaviate takes.
func checkEvent(ev *attach.Event, teamID string) (string, error) {
	id, err := uuid.Parse(ev.ID)
	if err != nil {
		return "", attach.Invalid("id", "must be a UUID")
	}
	if ev.TeamID != "" && !sameUUID(ev.TeamID, teamID) {
		return "", attach.Invalid("team_id", "event belongs to another team")
	}
	return id.String(), nil
}

func sameUUID(a, b string) bool {
	x, err1 := uuid.Parse(a)
	y, err2 := uuid.Parse(b)
	return err1 == nil && err2 == nil && x == y
}

// chunkEnd is the end of the request that starts at events[start].
func chunkEnd(events []attach.Event, start int) int {
	size := 0
	end := start
	for end < len(events) && end-start < maxBatchObjects {
		size += len(events[end].Content) + len(events[end].Metadata)
		if size > maxBatchBytes && end > start {
			break
		}
		end++
	}
	return end
}

// object is the Weaviate object of one event, stored under id. The team id
// is stored too, though the tenant already says it, so an object read on its
// own (a backup, an export) still tells whose it is.
func (s *Sink) object(ev *attach.Event, id, tenant string) *models.Object {
	props := map[string]any{
		propContent:   ev.Content,
		propTeamID:    strings.TrimPrefix(tenant, "team-"),
		propUser:      ev.User,
		propSession:   ev.Session,
		propKind:      ev.Kind,
		propRole:      ev.Role,
		propModel:     ev.Model,
		propEngine:    ev.Engine,
		propTaskID:    ev.TaskID,
		propTruncated: ev.Truncated,
	}
	if len(ev.Metadata) > 0 {
		props[propMetadata] = string(ev.Metadata)
	}
	if !ev.CreatedAt.IsZero() {
		props[propCreatedAt] = ev.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	return &models.Object{
		Class:      s.class,
		ID:         strfmt.UUID(id),
		Tenant:     tenant,
		Properties: props,
	}
}

// batch writes one request's objects, over gRPC when configured, and turns
// the per-object errors into one error.
func (s *Sink) batch(ctx context.Context, objects []*models.Object) error {
	var failures []objectError
	if s.grpc != nil {
		var err error
		if failures, err = s.grpc.batch(ctx, objects); err != nil {
			return err
		}
	} else {
		resp, err := s.client.Batch().ObjectsBatcher().WithObjects(objects...).Do(ctx)
		if err != nil {
			return clientErr(err)
		}
		for _, r := range resp {
			if r.Result == nil || r.Result.Errors == nil || len(r.Result.Errors.Error) == 0 {
				continue
			}
			msgs := make([]string, 0, len(r.Result.Errors.Error))
			for _, e := range r.Result.Errors.Error {
				if e != nil {
					msgs = append(msgs, e.Message)
				}
			}
			failures = append(failures, objectError{id: string(r.ID), msg: strings.Join(msgs, "; ")})
		}
	}
	if len(failures) == 0 {
		return nil
	}
	return batchErr(len(objects), failures)
}

// objectError is one object Weaviate did not write.
type objectError struct {
	id  string
	msg string
}

func batchErr(total int, failures []objectError) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d objects not written", len(failures), total)
	for i, f := range failures {
		if i == maxReportedErrors {
			fmt.Fprintf(&b, "; and %d more", len(failures)-i)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", f.id, truncate(f.msg, 200))
	}
	return errors.New(b.String())
}
