package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

var secretRE = regexp.MustCompile(`id="new-key-secret"[^>]*>(atk_[^<]+)<`)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("gus")
	team := e.team("keys", u)
	b := e.signedIn(u)

	wantContains(t, b.get(Base+"/t/keys/keys"), "No API keys yet", `id="key-form"`)

	p := b.post(Base+"/t/keys/keys", url.Values{"name": {"ci"}, "expires_at": {"soon"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="expires_at-error"`, `value="ci"`)
	p = b.post(Base+"/t/keys/keys", url.Values{"name": {"ci"}, "expires_at": {"2001-01-01"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="expires_at-error"`, "future")

	expiry := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
	p = b.follow(b.post(Base+"/t/keys/keys", url.Values{"name": {"ci-agent"}, "expires_at": {expiry}}))
	wantStatus(t, p, http.StatusOK)
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret shown: %.1000s", p.Body)
	}
	secret := m[1]
	if !attach.LooksLikeAPIKey(secret) {
		t.Fatalf("shown secret %q is not an API key", secret)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page with the secret", cc)
	}
	wantContains(t, p, "Copy it now.", `data-copy="new-key-secret"`)

	// Listed without the secret, with who made it and its status.
	list := b.get(Base + "/t/keys/keys")
	wantLacks(t, list, secret)
	prefix, _ := attach.ParseAPIKey(secret)
	wantContains(t, list, "ci-agent", "atk_"+prefix+"_…", "User gus", expiry, `data-testid="key-status">active`)

	keys, _, err := e.store.ListAPIKeys(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(keys) != 1 || keys[0].CreatedBy != u.ID {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	wantRedirect(t, b.post(Base+"/t/keys/keys/"+keys[0].ID+"/revoke", nil), Base+"/t/keys/keys?done=key-revoked")
	list = b.get(Base + "/t/keys/keys?done=key-revoked")
	wantContains(t, list, "API key revoked.", `data-testid="key-status">revoked`)
	wantLacks(t, list, `id="revoke-`+keys[0].ID+`"`)
	if got, _ := e.store.GetAPIKey(testCtx(t), team.ID, keys[0].ID); got.RevokedAt == nil {
		t.Error("key not revoked")
	}
	wantStatus(t, b.post(Base+"/t/keys/keys/00000000-0000-7000-8000-000000000000/revoke", nil), http.StatusNotFound)

	if strings.Contains(e.logs.String(), secret) {
		t.Error("the key's secret reached the log")
	}
}
