// Package mcp relays the Model Context Protocol's Streamable HTTP transport
// from a team's MCP clients to the team's MCP servers. The gateway is the
// OAuth resource server in front of each server: the caller's token stays
// at the gateway, and the server gets its own credential and the caller's
// identity in X-Attach-* headers. Answers are passed on as they arrive, an
// SSE stream event by event; every tools/call relayed is recorded in the
// team's memory with its result.
//
// The package knows nothing of the HTTP framework in front of it: requests
// come in as a method, a header map and a body, answers go out through an
// io.Writer and a flush function.
package mcp
