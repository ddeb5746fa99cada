package memory

import (
	"context"
	"fmt"
	"slices"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Sinks are the stores this install can deliver to, by backend name, and
// the install's default backend. The "none" backend is always there: it
// accepts and forgets.
type Sinks struct {
	def    string
	byName map[string]Sink
}

// NewSinks checks that a sink is configured for the default backend
// (MEM_BACKEND, "" meaning postgres) and indexes sinks by Name.
func NewSinks(defaultBackend string, sinks ...Sink) (*Sinks, error) {
	def, err := ParseBackend(defaultBackend)
	if err != nil {
		return nil, err
	}
	s := &Sinks{def: def, byName: map[string]Sink{BackendNone: nullSink{}}}
	for _, sink := range sinks {
		if sink == nil {
			continue
		}
		name := sink.Name()
		if _, err := ParseBackend(name); err != nil || name == "" {
			return nil, fmt.Errorf("sink %q: %w", name, err)
		}
		if _, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("two sinks for the %s backend", name)
		}
		s.byName[name] = sink
	}
	if _, ok := s.byName[def]; !ok {
		return nil, fmt.Errorf("memory backend %s is the default but has no sink configured", def)
	}
	return s, nil
}

// Queued tells whether events bound for backend go through the outbox. The
// Postgres sink is the events table itself, so its events are delivered the
// moment they are stored; "none" forgets them.
func (s *Sinks) Queued(backend string) bool {
	switch s.byName[backend].(type) {
	case *PostgresSink, nullSink:
		return false
	}
	return true
}

// backendOf is the backend in force for a team with settings m: its own
// choice, else the install's default.
func (s *Sinks) backendOf(m tenants.MemorySettings) string {
	if m.Backend == "" {
		return s.def
	}
	return m.Backend
}

// Default is the backend of teams that chose none.
func (s *Sinks) Default() string { return s.def }

// Has tells whether the install can deliver to backend.
func (s *Sinks) Has(backend string) bool {
	_, ok := s.byName[backend]
	return ok
}

// Names lists the configured backends, sorted.
func (s *Sinks) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// resolve returns the sink of a team whose override is backend ("" for
// the default).
func (s *Sinks) resolve(backend string) (Sink, error) {
	if backend == "" {
		backend = s.def
	}
	sink, ok := s.byName[backend]
	if !ok {
		return nil, fmt.Errorf("memory backend %s is not configured on this gateway", backend)
	}
	return sink, nil
}

// erasers are every sink that may hold a user's or a team's events: a team may have
// changed backends, and erasing must reach wherever its events went.
func (s *Sinks) erasers() []Sink {
	var out []Sink
	for _, name := range s.Names() {
		if name != BackendNone {
			out = append(out, s.byName[name])
		}
	}
	return out
}

// nullSink is the "none" backend: events stay in Postgres only.
type nullSink struct{}

func (nullSink) Name() string                                          { return BackendNone }
func (nullSink) Deliver(context.Context, string, []attach.Event) error { return nil }
func (nullSink) Search(context.Context, string, Filter) ([]attach.Event, error) {
	return nil, disabled()
}
func (nullSink) DeleteUser(context.Context, string, string) error { return nil }
func (nullSink) DeleteTeam(context.Context, string) error         { return nil }
