package console

import (
	"encoding/json"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/web"
)

// contentSecurityPolicy lets pages load only the console's own files: no
// inline script or style, no framing, forms post only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders go on every console response. Pages are never cached:
// they show one user's data, and some show a secret once.
func securityHeaders(fc *fiber.Ctx) error {
	h := &fc.Response().Header
	h.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	// Invite and setup links carry a token in their URL: never pass it on.
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set(fiber.HeaderCacheControl, "no-store")
	return fc.Next()
}

// render writes a page.
func render(fc *fiber.Ctx, status int, page templ.Component) error {
	fc.Status(status)
	fc.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return page.Render(fc.UserContext(), fc.Response().BodyWriter())
}

// wantsJSON tells a script's request (console.js, chat.js) from a
// browser's page load or form post.
func wantsJSON(fc *fiber.Ctx) bool {
	accept := fc.Get(fiber.HeaderAccept)
	return strings.Contains(accept, fiber.MIMEApplicationJSON) && !strings.Contains(accept, "text/html")
}

func writeJSON(fc *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fc.Status(status)
	fc.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return fc.Send(b)
}

// fail ends the request with err: for a script, the gateway's JSON error;
// for people, an error page with the same status and message.
func (c *Console) fail(fc *fiber.Ctx, err *attach.Error) error {
	if wantsJSON(fc) {
		return web.WriteError(fc, err)
	}
	fc.Response().ResetBody()
	status := web.Status(err)
	return render(fc, status, errorPage(c.chrome(fc, "Error"), status, err.Message))
}

// notFound is the answer for anything that does not exist or that the user
// may not know exists (another team's pages).
func (c *Console) notFound(fc *fiber.Ctx) error {
	return c.fail(fc, attach.Errorf(attach.CodeNotFound, "There is no such page, or it is not yours to see."))
}

func (c *Console) forbidden(fc *fiber.Ctx, msg string) error {
	return c.fail(fc, &attach.Error{Code: attach.CodeForbidden, Message: msg})
}

// internal logs what failed and answers 500 without the details.
func (c *Console) internal(fc *fiber.Ctx, what string, err error) error {
	c.log.Error("console: "+what, "path", fc.Path(), "err", err)
	return c.fail(fc, attach.Errorf(attach.CodeInternal, "Something went wrong on our side. Please try again."))
}

// storeFail answers a store error that the handler did not expect to show
// inline: a missing thing is 404, the rest is 500.
func (c *Console) storeFail(fc *fiber.Ctx, what string, err error) error {
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return c.notFound(fc)
	}
	return c.internal(fc, what, err)
}

// seeOther redirects after a successful POST, so reloading the page does not
// post again.
func seeOther(fc *fiber.Ctx, to string) error {
	return fc.Redirect(to, fiber.StatusSeeOther)
}
