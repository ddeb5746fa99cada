package memory

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// ErrJournalFull is returned by Append when the journal holds its maximum.
var ErrJournalFull = errors.New("memory journal is full")

// defaultSegmentMax is the size past which the journal starts a new file,
// so that a replayed file can be removed while later ones keep filling.
const defaultSegmentMax = 8 << 20

// Journal keeps batches of events that could not reach Postgres, in files
// in the data folder, until they are replayed. Each batch is one line of
// JSON, appended and fsync'd before Append returns, so a batch Append
// accepted survives a crash of the gateway or of the machine. Files are
// replayed oldest first and removed once every batch in them is stored.
//
// A batch is what the recorder tried to write in one transaction, and it is
// replayed in one transaction: if Postgres says its first event exists, the
// batch was committed before its answer was lost, so a batch is stored
// exactly once however often it is replayed.
type Journal struct {
	dir        string
	max        int64
	segmentMax int64
	log        *slog.Logger

	mu   sync.Mutex
	segs []segment // oldest first; the last may be open for appending
	size int64     // bytes in all segments
	cur  *os.File  // the last segment, open for appending; nil when closed
	next uint64    // sequence number of the next segment
}

type segment struct {
	seq  uint64
	size int64
	// events is how many events the segment holds, and since when the
	// first of them waits: what the console tells an operator.
	events int
	since  time.Time
}

// OpenJournal opens the journal in dir, making it if needed, with room for
// maxBytes. Files left by an earlier run are kept for replay.
func OpenJournal(dir string, maxBytes int64, logger *slog.Logger) (*Journal, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create memory journal %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read memory journal %s: %w", dir, err)
	}
	j := &Journal{dir: dir, max: maxBytes, segmentMax: defaultSegmentMax, log: logger, next: 1}
	for _, e := range entries {
		seq, ok := segmentSeq(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("read memory journal %s: %w", dir, err)
		}
		seg, err := j.count(segment{seq: seq, size: info.Size(), since: info.ModTime()})
		if err != nil {
			return nil, err
		}
		j.segs = append(j.segs, seg)
		j.size += info.Size()
		j.next = max(j.next, seq+1)
	}
	slices.SortFunc(j.segs, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })
	return j, nil
}

// count fills in the events of a segment left by an earlier run, and the
// time of its oldest event (else the file's, already in seg). It is read
// once at start, which replay does anyway.
func (j *Journal) count(seg segment) (segment, error) {
	batches, err := j.read(seg.seq)
	if err != nil {
		return seg, err
	}
	for _, b := range batches {
		seg.events += len(b)
		for _, e := range b {
			if !e.CreatedAt.IsZero() && e.CreatedAt.Before(seg.since) {
				seg.since = e.CreatedAt
			}
		}
	}
	return seg, nil
}

func segmentSeq(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".journal")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func (j *Journal) path(seq uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d.journal", seq))
}

// Size is how many bytes the journal holds.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Max is how many bytes the journal may hold.
func (j *Journal) Max() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.max
}

// Held is how many events wait for replay, and since when the oldest of
// them waits (zero when none do). Events are counted until their segment is
// removed, so a segment being replayed counts whole.
func (j *Journal) Held() (events int, since time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range j.segs {
		events += s.events
	}
	if len(j.segs) > 0 {
		since = j.segs[0].since
	}
	return events, since
}

// Empty reports whether nothing waits for replay.
func (j *Journal) Empty() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.segs) == 0
}

// Append writes events as one batch and syncs it to disk.
func (j *Journal) Append(events []attach.Event) error {
	line, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("journal events: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.size+int64(len(line)) > j.max {
		return ErrJournalFull
	}
	if j.cur == nil {
		seq := j.next
		f, err := os.OpenFile(j.path(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("journal events: %w", err)
		}
		if err := syncDir(j.dir); err != nil {
			f.Close()
			return err
		}
		j.next++
		j.cur = f
		j.segs = append(j.segs, segment{seq: seq, since: time.Now()})
	}
	if _, err := j.cur.Write(line); err != nil {
		return fmt.Errorf("journal events: %w", err)
	}
	if err := j.cur.Sync(); err != nil {
		return fmt.Errorf("journal events: sync: %w", err)
	}
	last := &j.segs[len(j.segs)-1]
	last.size += int64(len(line))
	last.events += len(events)
	j.size += int64(len(line))
	if last.size >= j.segmentMax {
		j.closeCurrent()
	}
	return nil
}

// closeCurrent ends appending to the last segment; the next Append starts
// a new one.
func (j *Journal) closeCurrent() {
	if j.cur != nil {
		if err := j.cur.Close(); err != nil {
			j.log.Warn("memory journal: close segment", "err", err)
		}
		j.cur = nil
	}
}

// Oldest returns the batches of the oldest segment, which stays in the
// journal until Remove. Appends go to a new segment from then on, so the
// batches returned are all the segment will ever hold.
func (j *Journal) Oldest() (seq uint64, batches [][]attach.Event, ok bool, err error) {
	j.mu.Lock()
	if len(j.segs) == 0 {
		j.mu.Unlock()
		return 0, nil, false, nil
	}
	seq = j.segs[0].seq
	if len(j.segs) == 1 {
		j.closeCurrent()
	}
	j.mu.Unlock()
	batches, err = j.read(seq)
	return seq, batches, true, err
}

// read reads a segment's batches. A last line cut short (the gateway died
// while writing it, before Append returned) is left out: that batch was
// never acknowledged as journaled.
func (j *Journal) read(seq uint64) ([][]attach.Event, error) {
	f, err := os.Open(j.path(seq))
	if err != nil {
		return nil, fmt.Errorf("read memory journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var batches [][]attach.Event
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				j.log.Warn("memory journal: an unfinished batch at the end of a segment is left out", "segment", seq, "bytes", len(line))
			}
			return batches, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read memory journal: %w", err)
		}
		var batch []attach.Event
		if err := json.Unmarshal(line, &batch); err != nil {
			return nil, fmt.Errorf("read memory journal segment %d: %w", seq, err)
		}
		batches = append(batches, batch)
	}
}

// Remove deletes the oldest segment, once its batches are stored.
func (j *Journal) Remove(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.segs) == 0 || j.segs[0].seq != seq {
		return fmt.Errorf("remove memory journal segment %d: not the oldest", seq)
	}
	if len(j.segs) == 1 {
		j.closeCurrent()
	}
	if err := os.Remove(j.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove memory journal segment: %w", err)
	}
	j.size -= j.segs[0].size
	j.segs = j.segs[1:]
	return syncDir(j.dir)
}

// Close closes the segment being appended to.
func (j *Journal) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeCurrent()
}

// syncDir makes a file's creation or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync memory journal folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync memory journal folder: %w", err)
	}
	return nil
}
