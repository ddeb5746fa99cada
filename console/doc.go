// Package console will hold the team web console (templ components and their
// handlers). Until it lands, teams are managed through the JSON management API
// under /admin/v1.
package console
