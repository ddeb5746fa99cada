package tenants

import "time"

// The Check methods report what the store would refuse in an input, without
// a database, so a form can check its fields before saving. Each reports
// the first fault it finds; the console asks again with that field mended to
// find the next, so a form shows every field's fault at once.

// Check reports the first field of the team that Create would refuse.
func (in TeamInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the issuer that Create would refuse.
func (in IssuerInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the engine that Create would refuse.
func (in EngineInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the agent that Create would refuse.
func (in AgentInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the MCP server that Create would refuse.
func (in MCPServerInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the invite that Create would refuse.
func (in InviteInput) Check() error { _, err := in.normalize(); return err }

// Check reports the first field of the key that Create would refuse at now.
func (in APIKeyInput) Check(now time.Time) error { _, err := in.normalize(now); return err }
