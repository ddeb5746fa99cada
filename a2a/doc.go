// Package a2a will hold agent-to-agent task hand-off (task store, dispatch,
// JSON-RPC and agent cards). Nothing is routed to it yet.
package a2a
