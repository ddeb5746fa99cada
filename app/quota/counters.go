package quota

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the counters need of Postgres; *pgxpool.Pool is one.
type DB interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// leaseSQL charges debt (tokens already spent past the replica's lease,
// taken whatever remains) and hands out a new lease in one statement: the
// smaller of an eighth ($6) of what remains after the debt and the kind's
// cap ($7), at least 1, never more than remains. The row is locked by the
// statement, so concurrent replicas see each other's grants and the sum of
// leases never passes the limit. In SET every expression reads the row as
// it was, so granted is the lease that used grew by.
const leaseSQL = `
WITH p AS (SELECT $4::bigint AS lim, $5::bigint AS debt, $6::numeric AS div, $7::bigint AS cap)
INSERT INTO quota_counters AS q (bucket, window_start, window_end, used, granted)
SELECT $1, $2, $3,
	p.debt + least(greatest(ceil(greatest(p.lim - p.debt, 0) / p.div)::bigint, 1), p.cap, greatest(p.lim - p.debt, 0)),
	least(greatest(ceil(greatest(p.lim - p.debt, 0) / p.div)::bigint, 1), p.cap, greatest(p.lim - p.debt, 0))
FROM p
ON CONFLICT (bucket, window_start) DO UPDATE SET
	used = q.used + $5::bigint + least(greatest(ceil(greatest($4::bigint - q.used - $5::bigint, 0) / $6::numeric)::bigint, 1), $7::bigint, greatest($4::bigint - q.used - $5::bigint, 0)),
	granted = least(greatest(ceil(greatest($4::bigint - q.used - $5::bigint, 0) / $6::numeric)::bigint, 1), $7::bigint, greatest($4::bigint - q.used - $5::bigint, 0))
RETURNING granted, used`

// lease charges debt to the bucket's window and takes a new lease; it
// returns the lease (0 when the window's allowance is spent) and what the
// window has used since, leases included.
func lease(ctx context.Context, db DB, bucket string, start, end time.Time, limit, debt, div, leaseCap int64) (granted, used int64, err error) {
	err = db.QueryRow(ctx, leaseSQL, bucket, start, end, limit, debt, div, leaseCap).Scan(&granted, &used)
	if err != nil {
		return 0, 0, fmt.Errorf("lease quota %s: %w", bucket, err)
	}
	return granted, used, nil
}

// giveBack returns an unspent lease (n > 0) or charges a debt (n < 0) when
// a replica lets go of a bucket.
func giveBack(ctx context.Context, db DB, bucket string, start time.Time, n int64) error {
	_, err := db.Exec(ctx, `UPDATE quota_counters SET used = greatest(used - $3::bigint, 0) WHERE bucket = $1 AND window_start = $2`, bucket, start, n)
	if err != nil {
		return fmt.Errorf("return quota lease %s: %w", bucket, err)
	}
	return nil
}

// prune deletes counters of windows that ended before the cut-off.
func prune(ctx context.Context, db DB, before time.Time) error {
	if _, err := db.Exec(ctx, `DELETE FROM quota_counters WHERE window_end < $1`, before); err != nil {
		return fmt.Errorf("prune quota counters: %w", err)
	}
	return nil
}
