// Package a2a is agent hand-off through the gateway: the relay that
// carries A2A JSON-RPC between a client and a team's agent, each in its
// own protocol version (0.3 or 1.0, translated both ways: requests,
// results, stream events, errors, cards); the task store that records
// every task, state change and message in Postgres and answers task reads
// from there, and a hand-off's tree; the reconciler that settles tasks
// nobody follows; the cards the gateway publishes for its agents; reading
// an agent's own card; and the seed's queued tasks (/a2a/tasks/send), run
// from a durable River queue in Postgres.
// It knows nothing of HTTP servers: app binds it to routes.
package a2a
