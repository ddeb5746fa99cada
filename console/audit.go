package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// auditActionChoices are offered in the filter's action box: each kind
// (all its actions) and the actions people look for most.
var auditActionChoices = []string{
	"team.", "member.", "invite.", "engine.", "issuer.", "agent.", "mcp_server.", "apikey.", "session.",
	tenants.AuditMemberRole, tenants.AuditMemberRemove, tenants.AuditAPIKeyCreate, tenants.AuditAPIKeyRevoke,
	tenants.AuditSignInFailed, tenants.AuditSignInThrottle, tenants.AuditDIDPolicy, tenants.AuditMemorySettings,
}

// auditCSVMax bounds one CSV download; a narrower filter gets the rest.
const auditCSVMax = 10000

func (c *Console) auditPage(fc *fiber.Ctx) error {
	t := current(fc)
	f, form, errs := auditFilterFrom(fc)
	v := auditView{Filter: form, Errors: errs}
	if errs != nil {
		return render(fc, fiber.StatusUnprocessableEntity, auditPage(c.teamChrome(fc, "Audit log", "audit"), v))
	}
	page := listPage(fc)
	list, next, err := c.store.ListAuditFiltered(fc.UserContext(), t.team.ID, f, page)
	if err != nil {
		return c.listFail(fc, "list audit log", err)
	}
	v.Entries, v.Next, v.Paged = list, next, page.After != ""
	return render(fc, fiber.StatusOK, auditPage(c.teamChrome(fc, "Audit log", "audit"), v))
}

// auditCSV downloads the entries the page's filter selects, newest first,
// at most auditCSVMax of them.
func (c *Console) auditCSV(fc *fiber.Ctx) error {
	t := current(fc)
	f, _, errs := auditFilterFrom(fc)
	for _, field := range []string{"actor", "action", "from", "to"} {
		if msg, bad := errs[field]; bad {
			return c.fail(fc, &attach.Error{Code: attach.CodeInvalid, Field: field, Message: msg})
		}
	}
	var rows [][]string
	page := tenants.Page{Limit: 200}
	for len(rows) < auditCSVMax {
		list, next, err := c.store.ListAuditFiltered(fc.UserContext(), t.team.ID, f, page)
		if err != nil {
			return c.listFail(fc, "export audit log", err)
		}
		for _, e := range list {
			rows = append(rows, auditRecord(e))
		}
		if next == "" {
			break
		}
		page.After = next
	}
	if len(rows) > auditCSVMax {
		rows = rows[:auditCSVMax]
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"time", "actor", "action", "target_type", "target_id", "target_name", "ip", "detail"})
	_ = w.WriteAll(rows) // a strings.Builder does not fail
	fc.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	fc.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audit-%s-%s.csv"`, t.team.Slug, time.Now().UTC().Format("20060102-150405")))
	fc.Set(fiber.HeaderCacheControl, "no-store")
	return fc.SendString(b.String())
}

// auditRecord is one CSV row. Cells a spreadsheet would run as a formula
// are quoted with a leading apostrophe: actors and targets are text people
// typed.
func auditRecord(e tenants.AuditEntry) []string {
	detail := ""
	if len(e.Detail) > 0 {
		b, _ := json.Marshal(e.Detail) // it came out of a JSON column
		detail = string(b)
	}
	row := []string{isoTime(e.CreatedAt), auditWho(e), e.Action, e.TargetType, e.TargetID, e.TargetName, e.ActorIP, detail}
	for i, cell := range row {
		row[i] = csvSafe(cell)
	}
	return row
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditFilterForm is the filter as typed, kept for the form and the links.
type auditFilterForm struct {
	Actor, Action, From, To string
}

// query is the filter as query parameters, for paging and the CSV link.
func (f auditFilterForm) query() []string {
	var kv []string
	for _, p := range [][2]string{{"actor", f.Actor}, {"action", f.Action}, {"from", f.From}, {"to", f.To}} {
		if p[1] != "" {
			kv = append(kv, p[0], p[1])
		}
	}
	return kv
}

// auditFilterFrom reads the filter from the query: dates are whole days,
// UTC, "to" included.
func auditFilterFrom(fc *fiber.Ctx) (tenants.AuditFilter, auditFilterForm, formErrors) {
	form := auditFilterForm{
		Actor:  strings.TrimSpace(fc.Query("actor")),
		Action: strings.TrimSpace(fc.Query("action")),
		From:   strings.TrimSpace(fc.Query("from")),
		To:     strings.TrimSpace(fc.Query("to")),
	}
	f := tenants.AuditFilter{Actor: form.Actor, Action: form.Action}
	errs := formErrors{}
	if form.From != "" {
		d, err := time.Parse(time.DateOnly, form.From)
		if err != nil {
			errs = errs.add("from", "must be a date like 2026-01-31")
		}
		f.From = d
	}
	if form.To != "" {
		d, err := time.Parse(time.DateOnly, form.To)
		if err != nil {
			errs = errs.add("to", "must be a date like 2026-01-31")
		}
		f.To = d.AddDate(0, 0, 1)
	}
	if len(errs) == 0 {
		if fe, ok := asFormErrors(f.Check()); ok {
			errs = fe
		}
	}
	if len(errs) == 0 {
		return f, form, nil
	}
	return f, form, errs
}

func auditTime(e tenants.AuditEntry) time.Time { return e.CreatedAt }

// auditTarget names what an entry is about: "engine gpu-box".
func auditTarget(e tenants.AuditEntry) string {
	name := e.TargetName
	if name == "" {
		name = e.TargetID
	}
	if e.TargetType == "" {
		return name
	}
	return e.TargetType + " " + name
}

func auditWho(e tenants.AuditEntry) string {
	if e.ActorName != "" {
		return e.ActorName
	}
	if e.ActorID != "" {
		return e.ActorID
	}
	return "the gateway"
}

// auditChangeLines says what an entry changed, one line a field: "audience:
// api://a → api://b", "role: member → admin", "api_key: set". Entries that
// record no change say nothing here.
func auditChangeLines(e tenants.AuditEntry) []string {
	var lines []string
	if changes, ok := e.Detail["changes"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(changes)) {
			if ft, ok := changes[k].(map[string]any); ok {
				lines = append(lines, k+": "+auditValue(ft["from"])+" → "+auditValue(ft["to"]))
			} else {
				lines = append(lines, k+": "+auditValue(changes[k]))
			}
		}
		return lines
	}
	for _, k := range []string{"role", "name"} {
		if prev, ok := e.Detail["previous_"+k]; ok {
			lines = append(lines, k+": "+auditValue(prev)+" → "+auditValue(e.Detail[k]))
		}
	}
	return lines
}

// auditValue renders one value of an entry's detail.
func auditValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		if v == "" {
			return `""`
		}
		return v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = auditValue(p)
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, ", ")
	default:
		return fmt.Sprint(v)
	}
}
