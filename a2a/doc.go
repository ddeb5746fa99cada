// Package a2a is agent hand-off through the gateway: the relay that
// carries A2A JSON-RPC between a client and a team's agent, each in its
// own protocol version (0.3 or 1.0, translated both ways: requests,
// results, stream events, errors, cards); the task store that records
// every task, state change and message in Postgres and answers task reads
// from there; the reconciler that settles tasks nobody follows; the cards
// the gateway publishes for its agents; and reading an agent's own card.
// It knows nothing of HTTP servers: app binds it to routes.
package a2a
