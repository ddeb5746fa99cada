package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/attach-dev/attach-gateway/tenants"
)

func (c *Console) auditPage(fc *fiber.Ctx) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.store.ListAudit(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list audit log", err)
	}
	v := auditView{Entries: list, Next: next, Paged: page.After != ""}
	return render(fc, fiber.StatusOK, auditPage(c.teamChrome(fc, "Audit log", "audit"), v))
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
