package proxy

import (
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// Tap receives every finished exchange on a generation route (chat and
// completions, both dialects) so it can be mirrored into memory. The proxy
// calls Record after the client has its answer; Record must return quickly.
type Tap interface {
	// Wants says whether exchanges of the team are recorded at all, so the
	// proxy copies nothing for a team that mirrors nothing.
	Wants(teamID string) bool
	// Admit says whether a request of the team may go to its engine: an
	// error when it could not be recorded, which the client gets instead.
	Admit(teamID string) error
	Record(x attach.Exchange)
}

// defaultTapLimit bounds how much of one answer is kept for memory: far more
// than any chat answer, small enough that a runaway stream cannot exhaust
// the gateway's memory.
const defaultTapLimit = 4 << 20

// capture collects an answer for the tap while it streams to the client.
type capture struct {
	x     attach.Exchange
	limit int
}

// startCapture begins recording an exchange of the team, or returns nil when
// it is not mirrored; every capture method accepts nil.
func (p *Proxy) startCapture(r *dialect.Route, teamID string, id Identity, engine, model string, body []byte) *capture {
	if p.cfg.Tap == nil || !r.Generates() || !p.cfg.Tap.Wants(teamID) {
		return nil
	}
	return &capture{
		x: attach.Exchange{
			TeamID: teamID, User: id.User, Session: id.Session,
			Engine: engine, Model: model, Path: r.Path,
			// The client's body is reused once the handler returns; a
			// stream outlives it.
			Request: append([]byte(nil), body...),
		},
		limit: p.cfg.TapLimit,
	}
}

func (c *capture) started(t time.Time) {
	if c != nil {
		c.x.Start = t
	}
}

// stop notes that the client left before the end; nothing more is kept.
func (c *capture) stop() {
	if c != nil {
		c.x.Stopped = true
	}
}

// add keeps a part of the answer, up to the limit.
func (c *capture) add(b []byte) {
	if c == nil || c.x.ResponseCut || c.x.Stopped {
		return
	}
	if room := c.limit - len(c.x.Response); len(b) > room {
		b = b[:room]
		c.x.ResponseCut = true
	}
	c.x.Response = append(c.x.Response, b...)
}

// finishCapture hands the exchange to the tap.
func (p *Proxy) finishCapture(c *capture, status int) {
	if c == nil {
		return
	}
	c.x.Status = status
	p.cfg.Tap.Record(c.x)
}
