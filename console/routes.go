package console

import "github.com/gofiber/fiber/v2"

// Mount serves the console on r, the app's group at Base (/console). The
// page assets (console.css, console.js, chat.js) are served by the app
// under /static/ from package web.
func (c *Console) Mount(r fiber.Router) {
	r.Use(securityHeaders, c.loadSession)

	r.Get("/", c.home)
	r.Get("/signin", c.signInPage)
	r.Post("/signin", c.checkPreCSRF, c.signIn)
	r.Post("/signout", c.requireUser, c.checkCSRF, c.signOut)
	r.Get("/sso", c.ssoStart)
	r.Get("/sso/callback", c.ssoCallback)
	r.Get("/setup", c.setupPage)
	r.Post("/setup", c.checkPreCSRF, c.setup)
	r.Get("/invite/:token", c.invitePage)
	r.Post("/invite/:token", c.requireUser, c.checkCSRF, c.acceptInvite)
	r.Post("/invite/:token/signup", c.checkPreCSRF, c.inviteSignUp)

	r.Get("/teams", c.requireUser, c.teamsPage)
	r.Post("/teams", c.requireUser, c.checkCSRF, c.createTeam)

	// The install's pages: its administrators only (install.go).
	inst := r.Group("/install", c.requireUser, c.checkCSRF, c.requireInstallAdmin)
	inst.Get("/", c.installTeamsPage)
	inst.Get("/users", c.installUsersPage)
	inst.Get("/audit", c.installAuditPage)
	inst.Post("/users/:user/lock", c.lockUser)
	inst.Post("/users/:user/unlock", c.unlockUser)
	inst.Post("/users/:user/remove", c.removeUser)
	inst.Post("/users/:user/install-admin", c.grantInstallAdmin)
	inst.Post("/users/:user/install-admin/remove", c.revokeInstallAdmin)

	acct := r.Group("/account", c.requireUser, c.checkCSRF)
	acct.Get("/", c.accountPage)
	acct.Post("/name", c.renameSelf)
	acct.Post("/password", c.changePassword)
	acct.Post("/sessions/end-others", c.endOtherSessions)
	acct.Post("/sessions/:ref/end", c.endSession)
	acct.Post("/teams/:team/leave", c.leaveTeam)

	// A team's pages: signed in, CSRF checked on every POST, and only for
	// the team's members; each change also names the role it takes.
	t := r.Group("/t/:team", c.requireUser, c.checkCSRF, c.loadTeam)
	use := c.allow(needUse, refuseUse)
	configure := c.allow(needManage, refuseManage)
	edit := c.allow(needEdit, refuseManage)
	own := c.allow(needDelete, refuseDelete)

	t.Get("/", c.gatewayPage)
	t.Post("/join", c.joinTeam) // an install administrator visiting
	t.Post("/try", use, c.tryIt)
	t.Get("/chat", c.chatPage)
	t.Post("/token", use, c.mintToken)

	t.Get("/engines", c.enginesPage)
	t.Get("/engines/new", configure, c.newEnginePage)
	t.Post("/engines", configure, c.createEngine)
	t.Get("/engines/:id", configure, c.enginePage)
	t.Post("/engines/:id", configure, c.updateEngine)
	t.Post("/engines/:id/test", configure, c.testEngine)
	t.Post("/engines/:id/import", configure, c.importEngineModels)
	t.Post("/engines/:id/delete", configure, c.deleteEngine)

	t.Get("/agents", c.agentsPage)
	t.Get("/agents/new", configure, c.newAgentPage)
	t.Post("/agents", configure, c.createAgent)
	t.Get("/agents/:id", configure, c.agentPage)
	t.Post("/agents/:id", configure, c.updateAgent)
	t.Post("/agents/:id/test", configure, c.testAgent)
	t.Post("/agents/:id/delete", configure, c.deleteAgent)

	t.Get("/mcp", c.mcpServersPage)
	t.Get("/mcp/new", configure, c.newMCPServerPage)
	t.Post("/mcp", configure, c.createMCPServer)
	t.Get("/mcp/:name/edit", configure, c.mcpServerPage)
	t.Post("/mcp/:name", configure, c.updateMCPServer)
	t.Post("/mcp/:name/delete", configure, c.deleteMCPServer)

	t.Get("/tasks", c.tasksPage)
	t.Get("/tasks/find", c.findTask)
	t.Get("/tasks/:id", c.taskPage)
	t.Get("/tasks/:id/live", c.taskLive)

	t.Get("/issuers", c.issuersPage)
	t.Get("/issuers/new", configure, c.newIssuerPage)
	t.Post("/issuers", configure, c.createIssuer)
	t.Post("/issuers/did", configure, c.saveDIDPolicy) // before /issuers/:id
	t.Get("/issuers/:id", configure, c.issuerPage)
	t.Post("/issuers/:id", configure, c.updateIssuer)
	t.Post("/issuers/:id/delete", configure, c.deleteIssuer)

	t.Get("/keys", c.keysPage)
	t.Post("/keys", configure, c.createKey)
	t.Post("/keys/:id/revoke", configure, c.revokeKey)

	t.Get("/members", c.membersPage)
	t.Post("/members/invite", configure, c.invite)
	t.Post("/invites/:id/revoke", configure, c.revokeInvite)
	t.Post("/members/:user/role", configure, c.setRole)
	t.Post("/members/:user/remove", configure, c.removeMember)

	t.Get("/memory", c.memoryPage)
	t.Get("/memory/:id", c.memoryEventPage)
	t.Post("/memory/settings", edit, c.setMemorySettings)

	t.Get("/callers", c.callersPage)
	t.Get("/usage", c.usagePage)
	t.Get("/usage.csv", c.usageCSV)

	t.Get("/audit", c.allow(needAudit, refuseAudit), c.auditPage)
	t.Get("/audit.csv", c.allow(needAudit, refuseAudit), c.auditCSV)

	t.Get("/limits", c.limitsPage)
	t.Post("/limits", edit, c.saveLimits)
	t.Post("/limits/named", edit, c.setNamedLimits)
	t.Post("/limits/named/remove", edit, c.removeNamedLimits)

	t.Get("/settings", c.settingsPage)
	t.Post("/settings/rename", edit, c.renameTeam)
	t.Post("/settings/engine-cookies", edit, c.setEngineCookies)
	t.Post("/settings/delete", own, c.deleteTeam)

	r.Use(c.notFound)
}

// home sends a signed-in user to their first team (or to make one) and
// anyone else to sign in.
func (c *Console) home(fc *fiber.Ctx) error {
	s := me(fc)
	if s == nil {
		return seeOther(fc, Base+"/signin")
	}
	ms, err := c.store.TeamsOf(fc.UserContext(), s.user.ID)
	if err != nil {
		return c.internal(fc, "list teams", err)
	}
	if len(ms) == 0 {
		return seeOther(fc, Base+"/teams")
	}
	return seeOther(fc, teamURL(ms[0].Team.Slug, ""))
}
