package app

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// metricValue reads one series of the gateway's /metrics.
func metricValue(t *testing.T, gw *gateway, name string) float64 {
	t.Helper()
	_, body := call(t, "GET", gw.URL+"/metrics", "", "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// With Postgres away chats are still answered; the ledger keeps usage up
// to its bound, then counts what it drops in a metric; once Postgres is
// back what it kept is written, and nothing is lost unaccounted for.
func TestUsageThroughPostgresOutage(t *testing.T) {
	t.Parallel()
	eng := newMemEngine(t)
	cfg := testConfig(t)
	cfg.EngineURL = eng.URL()
	cfg.Usage.Buffer = 20
	direct, err := pgxpool.New(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	link, dsn := testkit.PostgresLink(t, direct)
	cfg.DatabaseURL = dsn
	gw := startGateway(t, cfg)
	key := memKey(t, gw, "default")

	load := startChatLoad(t, gw.URL, key)
	pollUntil(t, 30*time.Second, "usage written before the outage", func() bool { return gw.ledger.Stats().Written > 0 })
	link.Cut()
	before := load.answered.Load()
	pollUntil(t, time.Minute, "usage records dropped past the bound", func() bool {
		return metricValue(t, gw, "attach_usage_records_dropped_total") > 0
	})
	if metricValue(t, gw, "attach_usage_records_pending") != 20 {
		t.Errorf("pending records %v, want the bound, 20", metricValue(t, gw, "attach_usage_records_pending"))
	}
	during := load.answered.Load() - before
	link.Mend()
	load.end()
	if during == 0 {
		t.Errorf("%d chats answered while Postgres was away", during)
	}
	if load.hung.Load() != 0 {
		t.Errorf("%d requests got no answer", load.hung.Load())
	}
	answered := load.answered.Load()
	pollUntil(t, time.Minute, "the kept usage written", func() bool {
		st := gw.ledger.Stats()
		return st.Pending == 0 && st.Written+st.Dropped >= answered
	})
	st := gw.ledger.Stats()
	var rows int64
	if err := direct.QueryRow(context.Background(), "SELECT count(*) FROM usage_records").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != st.Written {
		t.Errorf("%d rows in the ledger, the ledger says it wrote %d", rows, st.Written)
	}
	t.Logf("%d chats answered (%d during the outage); %d usage records written, %d dropped and counted", answered, during, st.Written, st.Dropped)
}
