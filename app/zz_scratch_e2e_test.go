package app

import (
	"testing"
	"time"
)

func TestScratchTiming(t *testing.T) {
	t0 := time.Now()
	gw := startGateway(t, testConfig(t))
	t.Logf("gateway %v", time.Since(t0)); t0 = time.Now()
	u := consoleAccount(t, gw, "a@example.test", "A")
	t.Logf("user %v", time.Since(t0)); t0 = time.Now()
	ui := newConsoleUI(t)
	t.Logf("browser %v", time.Since(t0)); t0 = time.Now()
	ui.open(gw.URL + "/console/signin")
	t.Logf("open %v", time.Since(t0)); t0 = time.Now()
	ui.fill("#email", u.Email)
	ui.fill("#password", e2ePassword)
	t.Logf("fill %v", time.Since(t0)); t0 = time.Now()
	ui.clickToLoad("#signin-submit")
	t.Logf("submit %v", time.Since(t0)); t0 = time.Now()
	ui.open(gw.URL + "/console/teams")
	t.Logf("open2 %v", time.Since(t0)); t0 = time.Now()
	ui.shot("x")
	t.Logf("shot %v", time.Since(t0)); t0 = time.Now()
}
