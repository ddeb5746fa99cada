package console

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants/usage"
)

// The Usage page reads the real ledger. A team whose period has more users
// than one ledger answer holds gets the page with a plain sentence instead
// of a failure, and its CSV is a 422 naming the reason; the Keys page
// still shows each key's tokens.
func TestUsagePageWithMoreUsersThanItLists(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	ledger := usage.NewStore(pool)
	e := newEnv(t, envOptions{pool: pool, usage: ledger})
	owner := e.user("una")
	team := e.team("busy", owner)
	ctx := testCtx(t)
	now := time.Now().UTC().Add(-time.Minute)
	records := make([]attach.Usage, 0, usage.MaxRows+1)
	for i := range usage.MaxRows + 1 {
		records = append(records, attach.Usage{TeamID: team.ID, User: fmt.Sprintf("agent-%05d", i), Engine: "gpu", Model: "tiny",
			Path: "/api/chat", PromptTokens: 3, CompletionTokens: 2, Status: 200, Time: now})
	}
	if err := ledger.Write(ctx, records); err != nil {
		t.Fatal(err)
	}

	b := e.signedIn(owner)
	p := b.get(Base + "/t/busy/usage")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="usage-too-many"`, `data-testid="usage-total"><strong>50,005</strong>`)
	p = b.get(Base + "/t/busy/usage.csv?range=24h&by=user")
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, "more than 10000 rows")
}
