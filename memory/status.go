package memory

import "time"

// RecorderStatus is what an operator is told about recording: whether
// events wait in the journal because Postgres is away, and what happens
// when the recorder can take no more.
type RecorderStatus struct {
	// OnFull is the policy when full: OnFullRefuse or OnFullDrop.
	OnFull string
	// Journaled is how many events wait in the journal for Postgres, in
	// JournaledBytes of JournalMax; Since is when the oldest began to
	// wait (zero when none do).
	Journaled      int
	JournaledBytes int64
	JournalMax     int64
	Since          time.Time
	// Full says the recorder takes no more now: new requests are refused
	// (OnFullRefuse) or their events dropped (OnFullDrop).
	Full bool
	// Dropped is how many events were dropped since the gateway started.
	Dropped int64
}

// Status says how recording goes.
func (r *Recorder) Status() RecorderStatus {
	st := RecorderStatus{OnFull: r.opts.OnFull, Full: r.Full(), Dropped: r.dropped.Load()}
	if r.journal != nil {
		st.Journaled, st.Since = r.journal.Held()
		st.JournaledBytes, st.JournalMax = r.journal.Size(), r.journal.Max()
	}
	return st
}
