package memory

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	attach "github.com/attach-dev/attach-gateway"
)

// The size estimate is exact for clean text, so a batch's COPY body is
// allocated once, and a body handed back is reused only once released.
func TestCopyRowsSizeAndReuse(t *testing.T) {
	t.Parallel()
	team := uuid.New()
	events := []attach.Event{
		{ID: uuid.NewString(), TeamID: team.String(), User: "alice", Session: "s1", Kind: attach.KindPrompt, Role: "user",
			Model: "llama3.2", Engine: "gpu-box", Content: "Why is the sky blue? ¿Por qué?", Metadata: []byte(`{"status":200}`), CreatedAt: time.Now()},
		{ID: uuid.NewString(), TeamID: team.String(), Kind: attach.KindNote, Content: "", TaskID: "task-7", Truncated: true, CreatedAt: time.Now()},
	}
	body := func() []byte {
		rows := newCopyRows(len(eventColumns), eventRowsSize(events))
		start := cap(rows.buf)
		for i := range events {
			rows.event(uuid.MustParse(events[i].ID), team, &events[i])
		}
		out := rows.end()
		if want := len(copySignature) + 8 + eventRowsSize(events); len(out) != want || cap(out) != start {
			t.Fatalf("body is %d bytes, estimated %d; its buffer grew from %d to %d", len(out), want, start, cap(out))
		}
		kept := bytes.Clone(out)
		rows.release()
		if rows.buf != nil {
			t.Fatal("released rows still hold their buffer")
		}
		return kept
	}
	first := body()
	if again := body(); !bytes.Equal(first, again) {
		t.Fatal("a reused buffer gave a different body")
	}
	if !bytes.HasPrefix(first, copySignature) || !bytes.HasSuffix(first, []byte{0xff, 0xff}) {
		t.Fatalf("body lacks the signature or the trailer: %q", first)
	}
}
