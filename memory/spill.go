package memory

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	attach "github.com/attach-dev/attach-gateway"
)

// What the recorder does when it can take no more exchanges.
const (
	// OnFullRefuse answers new requests 503 before they reach the engine,
	// so that nothing is answered that cannot be recorded.
	OnFullRefuse = "refuse"
	// OnFullDrop serves every request and drops what cannot be recorded,
	// counting each dropped event in the metrics and the log.
	OnFullDrop = "drop"
)

// ParseOnFull reads ATTACH_MEM_ON_FULL.
func ParseOnFull(s string) (string, error) {
	switch s {
	case "", OnFullRefuse:
		return OnFullRefuse, nil
	case OnFullDrop:
		return OnFullDrop, nil
	}
	return "", fmt.Errorf("ATTACH_MEM_ON_FULL must be %s or %s, not %q", OnFullRefuse, OnFullDrop, s)
}

// Admit says whether a request of teamID that will be recorded may go to
// its engine. Under OnFullRefuse it refuses while the recorder is full, so
// that no answer goes out unrecorded; otherwise it always admits.
func (r *Recorder) Admit(teamID string) error {
	if r.opts.OnFull != OnFullRefuse || !r.Full() || !r.Wants(teamID) {
		return nil
	}
	r.metrics.add(func(m *Metrics) prometheus.Counter { return m.refused }, 1)
	return &attach.Error{Code: attach.CodeUnavailable, Reason: "memory_full",
		Message: "the gateway cannot record this exchange now: its database is not answering and its journal is full; try again shortly"}
}

// Full reports whether the recorder is close to taking no more: its queue
// three quarters full, or its journal nine tenths full.
func (r *Recorder) Full() bool {
	if len(r.queue) >= cap(r.queue)*3/4 {
		return true
	}
	return r.journal != nil && r.journal.Size() >= r.journal.Max()/10*9
}

// Journaled is how many bytes of events wait in the journal.
func (r *Recorder) Journaled() int64 {
	if r.journal == nil {
		return 0
	}
	return r.journal.Size()
}

// drop counts and logs n events of teamID that are not recorded.
func (r *Recorder) drop(teamID string, n int) {
	r.dropped.Add(int64(n))
	r.metrics.add(func(m *Metrics) prometheus.Counter { return m.dropped }, n)
	r.log.Warn("memory: recorder full; events dropped (ATTACH_MEM_ON_FULL=drop)", "team", teamID, "events", n)
}

// spill journals a batch Postgres cannot take now, and wakes the replayer.
// It reports false when the journal cannot take it either.
func (r *Recorder) spill(events []attach.Event) bool {
	err := r.journal.Append(events)
	if err != nil {
		if !errors.Is(err, ErrJournalFull) {
			r.log.Error("memory: cannot journal events", "events", len(events), "err", err)
		}
		return false
	}
	r.metrics.add(func(m *Metrics) prometheus.Counter { return m.journaled }, len(events))
	select {
	case r.replay <- struct{}{}:
	default:
	}
	return true
}

// replayJournal writes the journal's batches into Postgres, oldest first,
// until Close: at once when started (batches left by an earlier run), when
// a batch is journaled, and then with a growing pause while Postgres does
// not take them.
func (r *Recorder) replayJournal() {
	defer close(r.replayDone)
	const minPause, maxPause = 100 * time.Millisecond, 2 * time.Second
	pause := minPause
	done := map[uint64]int{} // batches of a segment already stored
	for {
		seq, batches, ok, err := r.journal.Oldest()
		if err != nil {
			r.log.Error("memory: cannot read the journal", "err", err)
		}
		if err == nil && ok {
			n := r.replaySegment(batches[done[seq]:])
			done[seq] += n
			if done[seq] == len(batches) {
				if err := r.journal.Remove(seq); err != nil {
					r.log.Error("memory: cannot remove a replayed journal segment", "err", err)
				} else {
					delete(done, seq)
					r.log.Info("memory: journal segment replayed into Postgres", "batches", len(batches), "left_bytes", r.journal.Size())
					pause = minPause
					continue
				}
			}
		}
		if !ok {
			// Nothing to replay: sleep until a batch is journaled.
			select {
			case <-r.replayStop:
				return
			case <-r.replay:
			}
			continue
		}
		// Postgres did not take a batch: try again after a pause, however
		// many batches are journaled meanwhile.
		wait := time.NewTimer(pause)
		pause = min(2*pause, maxPause)
		select {
		case <-r.replayStop:
			wait.Stop()
			return
		case <-wait.C:
		}
	}
}

// replaySegment stores batches in order and returns how many it stored
// (or gave up on for good); it stops at the first Postgres cannot take.
func (r *Recorder) replaySegment(batches [][]attach.Event) int {
	for i, events := range batches {
		select {
		case <-r.replayStop:
			return i
		default:
		}
		if !r.replayBatch(events) {
			return i
		}
	}
	return len(batches)
}

// replayBatch stores a journaled batch, and reports false when Postgres
// could not take it now. A batch Postgres refuses (some of its events
// already stored by an earlier attempt whose answer was lost, or an event
// of a deleted team) is stored event by event, each in a transaction of
// its own, where an event that exists already is one stored before: every
// event is stored exactly once, however often its batch is replayed.
func (r *Recorder) replayBatch(events []attach.Event) bool {
	err := r.insert(events)
	if err == nil {
		r.metrics.stored(events)
		r.metrics.add(func(m *Metrics) prometheus.Counter { return m.replayed }, len(events))
		return true
	}
	if !permanent(err) {
		return false
	}
	for _, e := range events {
		if !r.storeOne(e) {
			return false
		}
	}
	r.metrics.add(func(m *Metrics) prometheus.Counter { return m.replayed }, len(events))
	return true
}

// storeOne writes one event in a transaction of its own. It reports false
// when Postgres could not take it now; an event Postgres refuses for good
// is logged and counted lost.
func (r *Recorder) storeOne(e attach.Event) bool {
	err := r.insert([]attach.Event{e})
	switch {
	case err == nil:
		r.metrics.stored([]attach.Event{e})
	case uniqueViolation(err):
		// Stored before.
	case !permanent(err):
		return false
	case attach.ErrorCode(err) == attach.CodeNotFound:
		r.log.Info("memory: event of a deleted team not stored", "team", e.TeamID, "kind", e.Kind)
		r.lose(1)
	default:
		r.log.Error("memory: event not stored", "team", e.TeamID, "kind", e.Kind, "err", err)
		r.lose(1)
	}
	return true
}

// stopReplay ends the replayer; what it has not replayed stays in the
// journal for the next start.
func (r *Recorder) stopReplay() {
	if r.journal == nil {
		return
	}
	r.replayOnce.Do(func() { close(r.replayStop) })
	<-r.replayDone
	r.journal.Close()
}
