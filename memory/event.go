package memory

// Filter narrows a listing or a search to one team and, optionally, one
// session, user, kind or task. Empty fields do not filter.
type Filter struct {
	TeamID  string
	Session string
	User    string
	Kind    string
	TaskID  string
	Before  string // an event id: only events older than it (the next page)
	Limit   int
}
