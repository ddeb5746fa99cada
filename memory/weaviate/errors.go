package weaviate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"

	attach "github.com/attach-dev/attach-gateway"
)

// maxErrorBody caps how much of a Weaviate error body goes into an error.
const maxErrorBody = 512

// clientErr makes the client library's errors readable: its wrapper says
// "status code: -1, error: check the DerivedFromError field" around the real
// cause, sometimes twice. The cause (a network error, a context deadline)
// stays reachable with errors.Is; a status error keeps its status and a
// bounded part of the body Weaviate sent.
func clientErr(err error) error {
	var ce *fault.WeaviateClientError
	for errors.As(err, &ce) {
		if ce.DerivedFromError != nil {
			err = ce.DerivedFromError
			continue
		}
		return &StatusError{Status: ce.StatusCode, Body: truncate(strings.TrimSpace(ce.Msg), maxErrorBody)}
	}
	return err
}

// StatusError is an answer from Weaviate with an unexpected HTTP status.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("weaviate answered %d: %s", e.Status, e.Body)
}

// graphQLErr joins the errors of a GraphQL answer, which Weaviate sends with
// status 200 and the client returns with a nil error.
func graphQLErr(errs []*models.GraphQLError) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		if e != nil {
			msgs = append(msgs, e.Message)
		}
	}
	return fmt.Errorf("graphql: %s", truncate(strings.Join(msgs, "; "), maxErrorBody))
}

// tenantMissing tells whether Weaviate refused a request because the tenant
// does not exist: a team that never delivered anything has no tenant, which
// for reads means no events.
func tenantMissing(err error) bool {
	return err != nil && strings.Contains(err.Error(), "tenant not found")
}

// truncate cuts s to n bytes and says so with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return attach.CutUTF8(s, n) + "…"
}
