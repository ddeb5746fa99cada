package tenants

import "context"

// Actor is who makes a change: a console user, the management token or an API
// key. Handlers put it in the request context with WithActor; every Store
// method that changes something then writes an audit row naming it, in the
// same transaction as the change.
type Actor struct {
	ID   string // a UUID (the user's or API key's id), or "" (the admin token)
	Name string // what the log shows: an email, "admin token", "apikey:<id>"
	IP   string // the client address, as the handler sees it
}

type actorKey struct{}

// WithActor returns a context whose changes are audited as made by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor stored, if any. Without one, store
// changes write no audit row: start-up configuration and tests make changes
// nobody asked for through the console or the API.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}
