package console

import (
	"strings"
	"time"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/web"
)

// Recorder says how the gateway's recording of exchanges goes;
// *memory.Recorder satisfies it.
type Recorder interface {
	Status() memory.RecorderStatus
}

var _ Recorder = (*memory.Recorder)(nil)

// recording is what the memory page says about recording: one state, and a
// sentence or two about it.
type recording struct {
	State  string // "ok", "journaling", "refusing" or "dropping"
	Label  string // the state in a few words
	Detail string // what it means, with the figures
	Note   string // events dropped earlier, when that is over
}

// describeRecording puts the recorder's status in words for the page. now
// is when the page is made.
func describeRecording(st memory.RecorderStatus, now time.Time) recording {
	var r recording
	held := ""
	if st.Journaled > 0 {
		held = plural(st.Journaled, "event is", "events are") + " held in the gateway's local journal"
		if !st.Since.IsZero() {
			held += " since " + st.Since.UTC().Format("2006-01-02 15:04:05 UTC") + ", for " + humanWait(now.Sub(st.Since))
		}
		held += "; " + web.FormatBytes(int(st.JournaledBytes)) + " of its " + web.FormatBytes(int(st.JournalMax)) + " used."
	}
	switch {
	case st.Full && st.OnFull == memory.OnFullDrop:
		r.State, r.Label = "dropping", "Journal full: events are dropped"
		r.Detail = "The database is not taking events and the journal has no room left. Requests are still answered, but what they say is not remembered (ATTACH_MEM_ON_FULL=drop): " +
			plural(int(st.Dropped), "event", "events") + " dropped so far. " + held
	case st.Full:
		r.State, r.Label = "refusing", "Journal full: chat requests are refused"
		r.Detail = "The database is not taking events and the journal has no room left, so new chat requests are answered 503 until it is back, and nothing goes unrecorded (ATTACH_MEM_ON_FULL=refuse). " + held
	case st.Journaled > 0:
		r.State, r.Label = "journaling", "Database away: events wait in the journal"
		r.Detail = "The database is not taking events, so they are kept on the gateway's disk and stored, in order, once it is back. " + held
	default:
		r.State, r.Label = "ok", "Recording normally"
	}
	r.Detail = strings.TrimSpace(r.Detail)
	if st.Dropped > 0 && !(st.Full && st.OnFull == memory.OnFullDrop) {
		r.Note = plural(int(st.Dropped), "event was", "events were") + " dropped since the gateway started, while its journal was full."
	}
	return r
}
