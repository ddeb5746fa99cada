package app

import (
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
)

// The pool has room for memory's delivery loops and writers and for
// requests, unless the database URL sets its own size.
func TestPoolSize(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDSN(t)
	sep := " " // keyword=value form
	if strings.Contains(dsn, "://") {
		sep = "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
	}
	for _, tc := range []struct {
		dsn  string
		want int32
	}{
		{dsn, poolConns},
		{dsn + sep + "pool_max_conns=3", 3},
	} {
		pool, err := NewPool(t.Context(), tc.dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := pool.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := pool.Config().MaxConns; got != tc.want {
			t.Errorf("MaxConns = %d, want %d", got, tc.want)
		}
		pool.Close()
	}
}
