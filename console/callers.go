package console

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The Callers page shows who called the team's gateway in the last day:
// each identity that authenticated, how, how often and when last. The
// gateway counts calls in memory and adds them to Postgres every few
// seconds (app/callers.go), so a call shows up here shortly after it is
// made, never on the request path.

// callersWindow is how far back the Callers page looks. The store counts
// by the hour, so the oldest hour is counted whole.
const callersWindow = 24 * time.Hour

// CallerLister is what the Callers page reads: the identities that called
// team teamID since since, busiest first (tenants.Store.ListCallers).
type CallerLister interface {
	ListCallers(ctx context.Context, teamID string, since time.Time) ([]tenants.Caller, error)
}

func (c *Console) callersPage(fc *fiber.Ctx) error {
	t := current(fc)
	list, err := c.callers.ListCallers(fc.UserContext(), t.team.ID, time.Now().Add(-callersWindow))
	if err != nil {
		return c.storeFail(fc, "list callers", err)
	}
	v := callersView{Rows: make([]callerRow, 0, len(list)), Capped: len(list) >= tenants.MaxListedCallers}
	for _, cl := range list {
		v.Rows = append(v.Rows, describeCaller(cl))
		v.Total += cl.Count
	}
	return render(fc, fiber.StatusOK, callersPage(c.teamChrome(fc, "Callers", "callers"), v))
}

// callerRow is one caller as the page shows it.
type callerRow struct {
	// Who names the identity for a person: a key's name, a user's name, a
	// DID, a token's subject; Detail is the precise identifier beside it
	// (key prefix, email, issuer), when there is one.
	Who, Detail string
	// Agent is the delegated agent that called for Who, if any.
	Agent string
	// Method is how the caller signed in, in words.
	Method   string
	Count    int64
	LastSeen time.Time
}

// describeCaller puts a caller in the words of the page. Names come from
// the store's joins; an identity whose key or user is gone is still shown,
// by its id.
func describeCaller(cl tenants.Caller) callerRow {
	r := callerRow{Agent: cl.Actor, Method: methodWords(cl.Method), Count: cl.Count, LastSeen: cl.LastSeen}
	switch {
	case cl.Method == tenants.MethodOther:
		r.Who = "Other callers"
		r.Detail = "counted together: more identities called than the gateway tracks one by one"
	case cl.KeyID != "":
		r.Who = "API key " + cl.KeyName
		if cl.KeyName == "" {
			r.Who = "Deleted API key"
		}
		if cl.KeyPrefix != "" {
			r.Detail = "atk_" + cl.KeyPrefix + "_…"
		} else {
			r.Detail = cl.KeyID
		}
	case cl.UserID != "":
		r.Who = cl.UserName
		r.Detail = cl.UserEmail
		if cl.UserName == "" && cl.UserEmail == "" {
			r.Who, r.Detail = "Deleted console user", cl.UserID
		} else if r.Who == "" {
			r.Who, r.Detail = cl.UserEmail, ""
		}
	case cl.Method == attach.MethodDID:
		r.Who = cl.Subject // the DID itself
	default:
		r.Who = cl.Subject
		if cl.Issuer != "" && cl.Issuer != cl.Subject {
			r.Detail = "issuer " + cl.Issuer
		}
	}
	if r.Who == "" {
		r.Who = "(no subject)"
	}
	return r
}

// methodWords says how a caller signed in. The method names are the
// Principal's (attach.Method*, and the gateway's own token kinds).
func methodWords(m string) string {
	switch m {
	case attach.MethodOIDC:
		return "OIDC token"
	case attach.MethodAPIKey:
		return "API key"
	case attach.MethodDID:
		return "DID-JWT"
	case attach.MethodExchange:
		return "Exchanged token"
	case attach.MethodIdPExchange:
		return "Token exchanged at the team's IdP"
	case "delegation": // identity.MethodDelegation: an agent calling back for a user
		return "Delegated agent token"
	case "console": // identity.MethodConsole: the console's chat and "Try it"
		return "Console sign-in"
	case tenants.MethodOther:
		return "Various"
	}
	return strings.TrimSpace(m)
}
