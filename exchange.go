package attach

import "time"

// Exchange is one finished call to an engine, as the proxy saw it. Its
// fields are those of the proxy's own exchange type, in the same order, so
// the proxy's value converts with a plain memory.Exchange(x).
type Exchange struct {
	TeamID, User, Session string
	Engine, Model, Path   string
	Status                int
	// Request is the request JSON as sent to the engine.
	Request []byte
	// Response is the answer as received: one JSON document, an Ollama
	// NDJSON stream or an OpenAI SSE stream. ResponseCut says the proxy
	// stopped keeping it at its size limit.
	Response    []byte
	ResponseCut bool
	Start       time.Time
	// Stopped says the client left before the answer ended (a "Stop"
	// button, a closed tab): Response holds what was sent to it, no more.
	Stopped bool
}
