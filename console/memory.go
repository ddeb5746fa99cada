package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// MemoryStore is what the memory pages read and change; *memory.Store
// satisfies it. Every method is scoped to one team.
type MemoryStore interface {
	List(ctx context.Context, f memory.Filter) ([]attach.Event, string, error)
	Get(ctx context.Context, teamID, id string) (attach.Event, error)
	Search(ctx context.Context, text string, f memory.Filter) ([]attach.Event, error)
	Pending(ctx context.Context, teamID string) (memory.Pending, error)
	Settings(ctx context.Context, teamID string) (memory.TeamSettings, error)
	SetSettings(ctx context.Context, teamID string, in memory.TeamSettings) (memory.TeamSettings, error)
}

var _ MemoryStore = (*memory.Store)(nil)

const (
	memoryPageSize = 50
	previewRunes   = 160 // of an event's content in the list
	maxFilterText  = 200 // bytes of a session, user or task filter
	maxSearchText  = 500 // bytes of a search
)

// needAllMemory: owners and admins read every event of the team; members
// and viewers read only their own, the events whose user is their subject
// (attach.UserSubject of their id, which their console tokens carry).
var needAllMemory need = tenants.Role.CanManageTeam

// memoryKinds are the kinds the filter offers, in the order of a
// conversation.
var memoryKinds = []string{
	attach.KindPrompt, attach.KindResponse, attach.KindNote, attach.KindLog,
	attach.KindTaskSent, attach.KindTaskResult, attach.KindToolCall,
}

// memoryFilters are what the list is narrowed to, as the URL carries them.
// User is empty for someone who sees only their own events: the store
// filter is fixed to them and nothing of it goes into links.
type memoryFilters struct {
	Q, Session, User, Kind, Task string
}

func (f memoryFilters) any() bool {
	return f.Q != "" || f.Session != "" || f.User != "" || f.Kind != "" || f.Task != ""
}

func (f memoryFilters) values() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{"q", f.Q}, {"session", f.Session}, {"user", f.User}, {"kind", f.Kind}, {"task", f.Task}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

// link is the memory list of team slug with these filters, changed by the
// name/value pairs kv (an empty value drops that filter).
func (f memoryFilters) link(slug string, kv ...string) string {
	q := f.values()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	path := teamURL(slug, "/memory")
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// readMemoryFilters reads the filters of the URL and says what is wrong with
// any of them, by field.
func readMemoryFilters(fc *fiber.Ctx, all bool) (memoryFilters, formErrors) {
	f := memoryFilters{
		Q:       strings.TrimSpace(fc.Query("q")),
		Session: strings.TrimSpace(fc.Query("session")),
		Kind:    strings.TrimSpace(fc.Query("kind")),
		Task:    strings.TrimSpace(fc.Query("task")),
	}
	if all {
		f.User = strings.TrimSpace(fc.Query("user"))
	}
	errs := formErrors{}
	for _, c := range []struct {
		field, value string
		limit        int
	}{{"q", f.Q, maxSearchText}, {"session", f.Session, maxFilterText}, {"user", f.User, maxFilterText}, {"task", f.Task, maxFilterText}} {
		if msg := checkFilterText(c.value, c.limit); msg != "" {
			errs.add(c.field, msg)
		}
	}
	if f.Kind != "" && !slices.Contains(memoryKinds, f.Kind) {
		errs.add("kind", "Choose one of the listed kinds")
	}
	return f, errs
}

// checkFilterText refuses what no stored value can equal (control
// characters, broken UTF-8) before it reaches the database.
func checkFilterText(s string, limit int) string {
	switch {
	case len(s) > limit:
		return "Use at most " + plural(limit, "character", "characters")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "Use printable characters only"
	}
	return ""
}

type memoryView struct {
	Off      bool // the gateway keeps no memory
	All      bool // the viewer sees every user's events
	Filters  memoryFilters
	Errors   formErrors // by filter field
	Problem  string     // why the list could not be shown
	Searched bool       // Events are search results, best first
	Events   []attach.Event
	Next     string // cursor of the next page; "" on the last
	Paged    bool   // this is not the first page
	Names    map[string]string
	Pending  memory.Pending
	Settings memory.TeamSettings
	// Recording is how the gateway's recording goes; nil when the console
	// cannot tell.
	Recording *recording

	// The backend setting, for owners and admins.
	CanEdit        bool
	Backends       []string
	Backend        string // the choice shown in the form
	SettingsErrors formErrors
}

func (c *Console) memoryPage(fc *fiber.Ctx) error {
	return c.renderMemory(fc, fiber.StatusOK, memoryView{})
}

// renderMemory shows the list (or the search) the URL asks for, with the
// delivery status and, for admins, the backend setting.
func (c *Console) renderMemory(fc *fiber.Ctx, status int, v memoryView) error {
	ch := c.teamChrome(fc, "Memory", "memory")
	if fc.Query("done") == "memory-saved" {
		ch.Notice = "Memory settings saved. Every gateway replica follows within seconds."
	}
	if c.mem == nil {
		return render(fc, fiber.StatusOK, memoryPage(ch, memoryView{Off: true}))
	}
	ctx := fc.UserContext()
	t, self := current(fc), me(fc).user
	v.All = needAllMemory(t.role)
	v.CanEdit = needEdit(t.role)
	v.Filters, v.Errors = readMemoryFilters(fc, v.All)

	// The delivery status and the events are separate reads: make them at
	// once, so the page waits for the slower of the two, not for both.
	var (
		st        memoryStatus
		statusErr error
		wg        sync.WaitGroup
	)
	wg.Go(func() { st, statusErr = c.memoryStatus(ctx, t.team.ID, self, v.All) })
	var listErr error
	if len(v.Errors) == 0 {
		f := memory.Filter{
			TeamID: t.team.ID, Session: v.Filters.Session, User: v.Filters.User,
			Kind: v.Filters.Kind, TaskID: v.Filters.Task, Limit: memoryPageSize,
		}
		if !v.All {
			f.User = attach.UserSubject(self.ID)
		}
		if v.Filters.Q != "" {
			v.Searched = true
			v.Events, listErr = c.mem.Search(ctx, v.Filters.Q, f)
		} else {
			f.Before = fc.Query("before")
			v.Paged = f.Before != ""
			v.Events, v.Next, listErr = c.mem.List(ctx, f)
		}
	}
	wg.Wait()

	if statusErr != nil {
		if attach.ErrorCode(statusErr) == attach.CodeNotFound {
			return c.notFound(fc) // the team was deleted meanwhile
		}
		return c.internal(fc, "memory status", statusErr)
	}
	v.Pending, v.Settings, v.Names = st.pending, st.settings, st.names
	if c.rec != nil {
		r := describeRecording(c.rec.Status(), time.Now())
		v.Recording = &r
	}
	if v.SettingsErrors == nil {
		v.Backend = v.Settings.Backend
	}
	v.Backends = c.backendChoices(v.Settings)

	switch {
	case len(v.Errors) > 0:
		v.Problem = "Some filters are not valid; fix them and try again."
		status = max(status, fiber.StatusBadRequest)
	case listErr != nil:
		code, msg := c.memoryListProblem(fc, listErr)
		if code == 0 {
			return c.internal(fc, "list memory events", listErr)
		}
		v.Problem, v.Events, v.Next = msg, nil, ""
		status = code
	}
	return render(fc, status, memoryPage(ch, v))
}

// memoryStatus is what the page shows beside the events: how delivery is
// doing, the team's backend, and who the users are.
type memoryStatus struct {
	pending  memory.Pending
	settings memory.TeamSettings
	names    map[string]string
}

func (c *Console) memoryStatus(ctx context.Context, teamID string, self tenants.User, all bool) (memoryStatus, error) {
	var st memoryStatus
	var err error
	if st.pending, err = c.mem.Pending(ctx, teamID); err != nil {
		return st, fmt.Errorf("delivery status: %w", err)
	}
	if st.settings, err = c.mem.Settings(ctx, teamID); err != nil {
		return st, fmt.Errorf("memory settings: %w", err)
	}
	if st.names, err = c.memberNames(ctx, teamID, self, all); err != nil {
		return st, fmt.Errorf("list members: %w", err)
	}
	return st, nil
}

// memoryListProblem says what went wrong with a listing or a search in
// words for the page, with its status; 0 for a failure of ours.
func (c *Console) memoryListProblem(fc *fiber.Ctx, err error) (int, string) {
	switch e := attach.AsError(err); attach.ErrorCode(err) {
	case attach.CodeInvalid:
		if e.Field == "before" {
			return fiber.StatusBadRequest, "This page link is not valid. Go back to the first page."
		}
		return fiber.StatusBadRequest, "That filter is not valid: " + e.Error() + "."
	case attach.CodeDisabled:
		return fiber.StatusConflict, "Memory is turned off for this team, so there is nothing to search. An admin can choose a backend below."
	case attach.CodeUnavailable:
		c.log.Warn("console: memory search failed", "path", fc.Path(), "err", err)
		return fiber.StatusServiceUnavailable, "The team's memory backend did not answer the search. Try again in a moment, or list the events without a search."
	}
	return 0, ""
}

// memoryFail answers a failure of the memory store: a team that has just
// been deleted is 404, the rest is ours.
func (c *Console) memoryFail(fc *fiber.Ctx, what string, err error) error {
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return c.notFound(fc)
	}
	return c.internal(fc, what, err)
}

// memberNames names the users of the events shown: the team's members and
// API keys by subject, for someone who sees everyone's events, else just
// the viewer.
func (c *Console) memberNames(ctx context.Context, teamID string, self tenants.User, all bool) (map[string]string, error) {
	if !all {
		return map[string]string{attach.UserSubject(self.ID): userName(self)}, nil
	}
	members, err := c.store.ListMembers(ctx, teamID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(members))
	for _, m := range members {
		names[attach.UserSubject(m.User.ID)] = userName(m.User)
	}
	if err := c.addKeyNames(ctx, teamID, names); err != nil {
		return nil, err
	}
	return names, nil
}

// backendChoices are the backends a team may pick: those of the install,
// and the team's current choice even if the install no longer has it, so
// the form shows what is in force.
func (c *Console) backendChoices(s memory.TeamSettings) []string {
	out := slices.Clone(c.memBackends)
	if len(out) == 0 {
		// Without the install's list, the default in force and "none" are
		// the backends every install has.
		if s.Backend == "" {
			out = append(out, s.Effective)
		}
		out = append(out, memory.BackendNone)
	}
	if s.Backend != "" {
		out = append(out, s.Backend)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *Console) memoryEventPage(fc *fiber.Ctx) error {
	if c.mem == nil {
		return c.notFound(fc)
	}
	t, self := current(fc), me(fc).user
	e, err := c.mem.Get(fc.UserContext(), t.team.ID, fc.Params("id"))
	if err != nil {
		return c.memoryFail(fc, "get memory event", err)
	}
	all := needAllMemory(t.role)
	// Someone else's event is as unknown to a member as a missing one.
	if !all && e.User != attach.UserSubject(self.ID) {
		return c.notFound(fc)
	}
	names, err := c.memberNames(fc.UserContext(), t.team.ID, self, all)
	if err != nil {
		return c.storeFail(fc, "list members", err)
	}
	v := memoryEventView{Event: e, Who: eventUser(names, e), All: all}
	return render(fc, fiber.StatusOK, memoryEventPage(c.teamChrome(fc, "Memory event", "memory"), v))
}

// setMemorySettings changes the team's memory backend. The embedding model
// is kept as it is: the form does not show it.
func (c *Console) setMemorySettings(fc *fiber.Ctx) error {
	if c.mem == nil {
		return c.notFound(fc)
	}
	t := current(fc)
	backend := form(fc, "backend")
	cur, err := c.mem.Settings(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.memoryFail(fc, "memory settings", err)
	}
	if backend == cur.Backend {
		return seeOther(fc, teamURL(t.team.Slug, "/memory?done=memory-saved"))
	}
	in := cur
	in.Backend = backend
	// The store audits the change, by the signed-in user.
	if _, err := c.mem.SetSettings(c.actor(fc), t.team.ID, in); err != nil {
		if ve := attach.AsError(err); ve != nil && ve.Code == attach.CodeInvalid {
			v := memoryView{Backend: backend, SettingsErrors: formErrors{"backend": capitalize(ve.Message)}}
			if ve.Field == "backend" {
				v.SettingsErrors["backend"] = "This gateway has no such backend. Choose one of the listed ones."
			}
			return c.renderMemory(fc, fiber.StatusUnprocessableEntity, v)
		}
		return c.memoryFail(fc, "set memory settings", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/memory?done=memory-saved"))
}

// backendLabel describes a backend in the settings form.
func backendLabel(b string) string {
	switch b {
	case memory.BackendPostgres:
		return "postgres: the gateway's database, full-text search"
	case memory.BackendWeaviate:
		return "weaviate: the install's Weaviate, keyword search"
	case memory.BackendNone:
		return "none: keep no memory for this team"
	}
	return b
}

// defaultLabel is the "install default" choice, naming the backend when
// it is the one in force.
func defaultLabel(s memory.TeamSettings) string {
	if s.Backend == "" {
		return "Install default (" + s.Effective + ")"
	}
	return "Install default"
}

// pendingDetail says how long the oldest waiting event has waited and how
// often delivery failed.
func pendingDetail(p memory.Pending) string {
	s := "the oldest for " + humanWait(p.Oldest)
	if p.Attempts > 0 {
		s += ", after " + plural(p.Attempts, "failed attempt", "failed attempts")
	}
	return s
}

// eventUser names an event's user: a member by name, anyone else (an
// agent's subject, an API key) as the gateway stamped them.
func eventUser(names map[string]string, e attach.Event) string {
	if n, ok := names[e.User]; ok {
		return n
	}
	if e.User == "" {
		return "—"
	}
	return e.User
}

// shortID keeps a long session or task id to what tells it apart on a row.
func shortID(s string) string {
	const keep = 8
	if utf8.RuneCountInString(s) <= keep+2 {
		return s
	}
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// preview is the start of an event's content on one line: runs of white
// space become one space, and at most n runes are kept; cut says whether
// anything was left out.
func preview(s string, n int) (out string, cut bool) {
	var b strings.Builder
	runes, space := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		need := 1
		if space {
			need = 2
		}
		if runes+need > n {
			return b.String() + "…", true
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		runes += need
	}
	return b.String(), false
}

func eventPreview(e attach.Event) string {
	p, _ := preview(e.Content, previewRunes)
	return p
}

// modelEngine is which model on which engine an event went through.
func modelEngine(e attach.Event) string {
	model := askedServed(e)
	switch {
	case model != "" && e.Engine != "":
		return model + " · " + e.Engine
	case model != "":
		return model
	case e.Engine != "":
		return e.Engine
	}
	return "—"
}

// prettyJSON indents an event's metadata for reading; text that is not
// JSON is shown as it is.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// eventTime is an event's time to the second, in UTC.
func eventTime(e attach.Event) string {
	if e.CreatedAt.IsZero() {
		return "—"
	}
	return e.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

type memoryEventView struct {
	Event attach.Event
	Who   string
	All   bool
}
