package migrations_test

import (
	"testing"
)

// Migration 16: an issuer's exchange client id and sealed secret come
// together or not at all, a team has one exchange issuer at most; down to
// 15 the columns are gone with the setting, the issuers stay; up again the
// setting can be made anew.
func TestIssuerExchangeDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000a016"
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'xidp', 'X')",
		"INSERT INTO issuers (id, team_id, url, audience) VALUES ('0190a1b2-0000-7000-8000-00000000b001', '"+team+"', 'https://a', 'gw')",
		"INSERT INTO issuers (id, team_id, url, audience) VALUES ('0190a1b2-0000-7000-8000-00000000b002', '"+team+"', 'https://b', 'gw')")
	set := func(id string) string {
		return "UPDATE issuers SET exchange_client_id = 'c', exchange_secret_enc = '\\x01' WHERE id = '" + id + "'"
	}
	for name, stmt := range map[string]string{
		"id without secret": "UPDATE issuers SET exchange_client_id = 'c' WHERE url = 'https://a'",
		"secret without id": "UPDATE issuers SET exchange_secret_enc = '\\x01' WHERE url = 'https://a'",
		"two of one team":   "UPDATE issuers SET exchange_client_id = 'c', exchange_secret_enc = '\\x01'",
	} {
		if _, err := p.Exec(ctx, stmt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	exec(t, p, set("0190a1b2-0000-7000-8000-00000000b001"))

	if _, err := prov.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	var cols, issuers int
	if err := p.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'issuers' AND column_name LIKE 'exchange%'").Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("down to 15: %d exchange columns (%v)", cols, err)
	}
	if err := p.QueryRow(ctx, "SELECT count(*) FROM issuers").Scan(&issuers); err != nil || issuers != 2 {
		t.Fatalf("down to 15: %d issuers (%v), want 2", issuers, err)
	}
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, p, set("0190a1b2-0000-7000-8000-00000000b002"))
}
