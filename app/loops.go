package app

import (
	"bytes"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// viaName is this install's name in the Via header of the requests it
// sends to engines and agents: the same on every replica (it comes from
// the secret key), different for every install, and telling nothing of
// the key.
func viaName(secret []byte) string {
	return "attach-" + hex.EncodeToString(deriveKey(secret, "attach via name v1")[:6])
}

// refuseLoops answers 508 to a request that this install sent itself: an
// engine or agent whose address is the gateway (perhaps with a key of the
// team as its credential) would otherwise have each request call the
// gateway again, thousands deep, until a buffer overflows. The first
// repeat ends it. Another install's name in Via is a chain of gateways,
// which is fine.
func (a *App) refuseLoops(c *fiber.Ctx) error {
	own := []byte(a.via)
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderVia) {
		if bytes.Contains(v, own) {
			return &attach.Error{Code: attach.CodeLoopDetected,
				Message: "this request came back to the gateway that sent it: an engine or agent of the team has the gateway's own address"}
		}
	}
	return c.Next()
}
