package memory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func journalBatch(ids ...string) []attach.Event {
	events := make([]attach.Event, len(ids))
	for i, id := range ids {
		events[i] = attach.Event{ID: id, TeamID: "t", Kind: attach.KindNote, Content: "c " + id}
	}
	return events
}

func openTestJournal(t *testing.T, dir string, maxBytes int64) *Journal {
	t.Helper()
	j, err := OpenJournal(dir, maxBytes, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	return j
}

func ids(batches [][]attach.Event) []string {
	var out []string
	for _, b := range batches {
		for _, e := range b {
			out = append(out, e.ID)
		}
	}
	return out
}

// Batches come back oldest first, across segments and across a reopening
// (a gateway restart), and a removed segment is gone for good.
func TestJournalKeepsBatchesInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openTestJournal(t, dir, 1<<20)
	j.segmentMax = 1 // every batch in a segment of its own
	for _, id := range []string{"a", "b", "c"} {
		if err := j.Append(journalBatch(id, id+"2")); err != nil {
			t.Fatal(err)
		}
	}
	if j.Empty() || j.Size() == 0 {
		t.Fatal("journal empty after appends")
	}
	seq, batches, ok, err := j.Oldest()
	if err != nil || !ok || len(ids(batches)) != 2 || ids(batches)[0] != "a" {
		t.Fatalf("oldest = %d %v %v %v", seq, ids(batches), ok, err)
	}
	if err := j.Remove(seq); err != nil {
		t.Fatal(err)
	}
	j.Close()

	again := openTestJournal(t, dir, 1<<20)
	var got []string
	for !again.Empty() {
		seq, batches, _, err := again.Oldest()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(batches)...)
		if err := again.Remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	if want := "b b2 c c2"; strings.Join(got, " ") != want {
		t.Fatalf("after reopening: %q, want %q", strings.Join(got, " "), want)
	}
	if again.Size() != 0 {
		t.Fatalf("size %d after every segment was removed", again.Size())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.journal")); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}

// A batch cut short by a crash while it was written is left out; the
// batches before it are kept.
func TestJournalSkipsATornLastBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openTestJournal(t, dir, 1<<20)
	if err := j.Append(journalBatch("a")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`[{"id":"b","team_id":"t","ki`)
	f.Close()

	again := openTestJournal(t, dir, 1<<20)
	_, batches, ok, err := again.Oldest()
	if err != nil || !ok || strings.Join(ids(batches), " ") != "a" {
		t.Fatalf("oldest = %v %v %v", ids(batches), ok, err)
	}
}

// The journal holds no more than its maximum.
func TestJournalIsBounded(t *testing.T) {
	t.Parallel()
	j := openTestJournal(t, t.TempDir(), 300)
	var err error
	n := 0
	for ; n < 100; n++ {
		if err = j.Append(journalBatch("0190c0de-0000-7000-8000-000000000000")); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrJournalFull) || n == 0 {
		t.Fatalf("after %d appends: %v, want ErrJournalFull", n, err)
	}
	if j.Size() > 300 {
		t.Fatalf("size %d over the maximum", j.Size())
	}
}

// The journal says how many events it holds and since when, also for
// segments left by an earlier run (a gateway restart), and counts a
// segment out once it is removed.
func TestJournalSaysWhatItHolds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openTestJournal(t, dir, 1<<20)
	if n, since := j.Held(); n != 0 || !since.IsZero() {
		t.Fatalf("empty journal holds %d events since %v", n, since)
	}
	j.segmentMax = 1 // every batch in a segment of its own
	before := time.Now()
	for _, id := range []string{"a", "b", "c"} {
		if err := j.Append(journalBatch(id, id+"2")); err != nil {
			t.Fatal(err)
		}
	}
	n, since := j.Held()
	if n != 6 || since.Before(before.Add(-time.Second)) || since.After(time.Now()) {
		t.Fatalf("holds %d events since %v; want 6 since about %v", n, since, before)
	}
	j.Close()

	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	again := openTestJournal(t, dir, 1<<20)
	if err := again.Append([]attach.Event{{ID: "d", TeamID: "t", Kind: attach.KindNote, CreatedAt: old}}); err != nil {
		t.Fatal(err)
	}
	again.Close()
	third := openTestJournal(t, dir, 1<<20)
	if n, since := third.Held(); n != 7 || since.After(time.Now()) || since.IsZero() {
		t.Fatalf("after a restart: holds %d events since %v; want 7", n, since)
	}
	seq, _, _, err := third.Oldest()
	if err != nil {
		t.Fatal(err)
	}
	if err := third.Remove(seq); err != nil {
		t.Fatal(err)
	}
	if n, _ := third.Held(); n != 5 {
		t.Fatalf("after a segment was replayed: holds %d events, want 5", n)
	}
}
