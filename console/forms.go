package console

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// formErrors are the messages shown next to the fields of a form, by field
// name. The field names are the store's, so a validation error lands next
// to its input.
type formErrors map[string]string

// add records msg for field and returns the errors, for chaining.
func (e formErrors) add(field, msg string) formErrors {
	if e[field] == "" {
		e[field] = msg
	}
	return e
}

// asFormErrors turns a validation error from the store into field errors;
// ok is false for any other error.
func asFormErrors(err error) (formErrors, bool) {
	ve := attach.AsError(err)
	if ve == nil || ve.Code != attach.CodeInvalid {
		return nil, false
	}
	return formErrors{ve.Field: capitalize(ve.Message)}, true
}

// saveRefused explains a store's refusal to save a form: the field errors
// of an invalid input (422), or on a conflict, conflict shown at field (409).
// ok is false for any other error, which the form cannot explain.
func saveRefused(err error, field, conflict string) (fe formErrors, status int, ok bool) {
	if fe, ok := asFormErrors(err); ok {
		return fe, fiber.StatusUnprocessableEntity, true
	}
	if attach.ErrorCode(err) == attach.CodeConflict {
		return formErrors{field: conflict}, fiber.StatusConflict, true
	}
	return nil, 0, false
}

// describedBy links an input to its error message, if it has one.
func describedBy(errs formErrors, field string) string {
	if errs[field] != "" {
		return field + "-error"
	}
	return ""
}

func invalidAttr(errs formErrors, field string) string {
	if errs[field] != "" {
		return "true"
	}
	return "false"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// form reads a trimmed form field.
func form(fc *fiber.Ctx, name string) string {
	return strings.TrimSpace(fc.FormValue(name))
}

func checked(fc *fiber.Ctx, name string) bool {
	v := fc.FormValue(name)
	return v == "on" || v == "true" || v == "1"
}

// splitList reads a list typed one per line or comma separated.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseExpiry reads an optional date (YYYY-MM-DD): the key works through
// that whole day, UTC.
func parseExpiry(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, errors.New("Use a date like 2030-12-31, or leave it empty for no expiry")
	}
	end := d.Add(24*time.Hour - time.Second) // 23:59:59, shown as the day itself
	return &end, nil
}

func teamURL(slug, path string) string {
	return Base + "/t/" + url.PathEscape(slug) + path
}

func withQuery(path string, kv ...string) string {
	base, raw, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(raw) // our own links: a bad one just loses its query
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

func statusWord(status int) string { return strconv.Itoa(status) }

func statusTitle(status int) string {
	switch status {
	case fiber.StatusNotFound:
		return "Page not found"
	case fiber.StatusForbidden:
		return "Not allowed"
	case fiber.StatusUnauthorized:
		return "Please sign in"
	case fiber.StatusTooManyRequests:
		return "Too many attempts"
	case fiber.StatusBadRequest, fiber.StatusUnprocessableEntity:
		return "That did not work"
	case fiber.StatusConflict:
		return "That cannot be done"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return "Error"
}

// when formats a time for tables, in UTC so every admin reads the same.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// humanWait says how long to wait, rounded up to what a person cares about.
func humanWait(d time.Duration) string {
	switch {
	case d <= time.Minute:
		s := int((d + time.Second - 1) / time.Second)
		return plural(max(s, 1), "second", "seconds")
	case d < time.Hour:
		return plural(int((d+time.Minute-1)/time.Minute), "minute", "minutes")
	}
	return plural(int((d+time.Hour-1)/time.Hour), "hour", "hours")
}
