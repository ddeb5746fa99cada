package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestGatewayEnvReplacesCallersConfiguration(t *testing.T) {
	t.Parallel()
	env := gatewayEnv([]string{
		"HOME=/root", "PATH=/usr/bin", "DATABASE_URL=postgres://prod", "ATTACH_DATA_DIR=/srv",
		"OIDC_ISSUER=https://idp", "ENGINE_URL=http://gpu", "PORT=80", "MEM_BACKEND=weaviate",
	}, gatewayParams{DataDir: "/tmp/b", Port: 9000, Issuer: "http://127.0.0.1:1", EngineURL: "http://127.0.0.1:2", LogLevel: "info"})
	want := []string{
		"HOME=/root", "PATH=/usr/bin",
		"ATTACH_DATA_DIR=/tmp/b", "ATTACH_HOST=127.0.0.1", "PORT=9000",
		"OIDC_ISSUER=http://127.0.0.1:1", "OIDC_AUD=bench", "ENGINE_URL=http://127.0.0.1:2", "ATTACH_LOG_LEVEL=info",
	}
	if !slices.Equal(env, want) {
		t.Errorf("gatewayEnv:\n got %q\nwant %q", env, want)
	}
}

// stubGateway is a stand-in for the gateway in a unit test of checkGateway:
// it forwards to the upstream when requireToken is met and stamps identity
// headers when stamp is set.
func stubGateway(t *testing.T, up *upstream, requireToken, stamp bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requireToken && r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, up.url+r.URL.Path, r.Body)
		if stamp {
			req.Header.Set("X-Attach-User", benchSubject)
			req.Header.Set("X-Attach-Session", "s1")
			req.Header.Set("X-Attach-Tenant", "default")
		} else {
			req.Header.Set("X-Attach-User", r.Header.Get("X-Attach-User"))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckGateway(t *testing.T) {
	t.Parallel()
	up := testUpstream(t)
	ctx := context.Background()

	warnings, err := checkGateway(ctx, up, stubGateway(t, up, true, true), "tok")
	if err != nil || len(warnings) != 0 {
		t.Errorf("a working gateway: err %v, warnings %q", err, warnings)
	}

	_, err = checkGateway(ctx, up, stubGateway(t, up, false, true), "tok")
	if err == nil || !strings.Contains(err.Error(), "without a token answered 200") {
		t.Errorf("a gateway that lets everyone in: err = %v", err)
	}

	_, err = checkGateway(ctx, up, stubGateway(t, up, true, true), "wrong")
	if err == nil || !strings.Contains(err.Error(), "with a valid token answered 401") {
		t.Errorf("a gateway that rejects the token: err = %v", err)
	}

	warnings, err = checkGateway(ctx, up, stubGateway(t, up, true, false), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 3 || !strings.Contains(warnings[0], "did not replace it") {
		t.Errorf("a gateway passing the client's identity through: warnings %q", warnings)
	}
}
