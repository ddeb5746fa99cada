// Package attach holds the plain types every layer of the gateway shares:
// teams and what they configure (issuers, engines, API keys), the verified
// caller (Principal), the engine exchanges the proxy sees and the memory
// events made of them, and the one error type that stores and handlers
// return. It imports no database, HTTP or framework package, so each layer
// can use it without pulling in another.
package attach
