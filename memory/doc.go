// Package memory is the memory bus: every prompt and answer the proxy
// forwards, and every note, log line and task hand-off agents store, kept
// for the team durably and delivered to the team's memory store.
//
// The path of an event:
//
//	proxy tap --Record--> Recorder (bounded queue; parse, redact, truncate)
//	                         |  batches: events + outbox rows, one transaction
//	API (Store.Add) ---------+--> Postgres: memory_events, memory_outbox
//	                                     |  NOTIFY attach_memory
//	                         Worker (FOR UPDATE SKIP LOCKED) --> Sink.Deliver
//
// Postgres is the record: listings and reads come from memory_events, and
// an event is in the outbox exactly when it is stored, so a sink that is
// down only delays delivery. Sinks write by event id, so redelivery after a
// crash never duplicates. The Postgres sink has nothing to deliver and
// searches memory_events itself; the Weaviate sink lives in memory/weaviate.
//
// A team picks its backend with the rest of its configuration in tenants
// (none: the install's MEM_BACKEND); "none" records nothing. The recorder
// and the worker read the choice from the team directory, which follows
// every change through NOTIFY attach_config.
package memory
