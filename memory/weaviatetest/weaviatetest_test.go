package weaviatetest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// A class made before a stop, a restart and a crash is still there after
// each: the server keeps its data folder and ports.
func TestStopStartKillKeepData(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	if !srv.Running() {
		t.Fatal("a started server is not running")
	}
	resp, err := http.Post(srv.URL()+"/v1/schema", "application/json", strings.NewReader(`{"class":"Kept","vectorizer":"none"}`))
	if err != nil {
		t.Fatalf("create class: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create class: status %d", resp.StatusCode)
	}
	hasClass := func(when string) {
		t.Helper()
		code, body, err := get(t, srv.URL()+"/v1/schema/Kept")
		if err != nil || code != http.StatusOK {
			t.Fatalf("%s: class: %d %s %v", when, code, body, err)
		}
	}
	url, grpc := srv.URL(), srv.GRPCAddr()

	srv.Stop(t)
	if srv.Running() {
		t.Error("a stopped server is running")
	}
	if _, _, err := get(t, srv.URL()+"/v1/.well-known/ready"); err == nil {
		t.Error("a stopped server still answers")
	}
	srv.Stop(t) // stopping twice is fine
	srv.Start(t)
	if srv.URL() != url || srv.GRPCAddr() != grpc {
		t.Errorf("restart moved the server from %s, %s to %s, %s", url, grpc, srv.URL(), srv.GRPCAddr())
	}
	hasClass("after a restart")

	srv.Kill(t)
	if _, _, err := get(t, srv.URL()+"/v1/.well-known/ready"); err == nil {
		t.Error("a killed server still answers")
	}
	srv.Start(t)
	hasClass("after a crash")
}

func TestPauseResume(t *testing.T) {
	srv := Shared(t)
	srv.Pause(t)
	client := &http.Client{Timeout: 300e6} // 300 ms: a paused server never answers
	if resp, err := client.Get(srv.URL() + "/v1/.well-known/ready"); err == nil {
		resp.Body.Close()
		t.Error("a paused server answered")
	}
	srv.Resume(t)
	if code, _, err := get(t, srv.URL()+"/v1/.well-known/ready"); err != nil || code != http.StatusOK {
		t.Errorf("after resume: %d %v", code, err)
	}
}

func TestSharedIsOneServer(t *testing.T) {
	t.Parallel()
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Error("Shared started a second server")
	}
	if code, _, err := get(t, a.URL()+"/v1/.well-known/ready"); err != nil || code != http.StatusOK {
		t.Errorf("shared server not ready: %d %v", code, err)
	}
}

func TestStartTwiceFails(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	if err := srv.launch(); err == nil {
		t.Error("starting a running server was accepted")
	}
}

func TestParseCPUTime(t *testing.T) {
	t.Parallel()
	// Fields 14 and 15 are 250 and 50 ticks; the name holds a space and ')'.
	stat := "4242 (weaviate) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	got, err := parseCPUTime(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("parseCPUTime = %v, %v; want 3s", got, err)
	}
	if _, err := parseCPUTime("garbage"); err == nil {
		t.Error("garbage parsed")
	}
}

func TestCPUTimeGrowsWithWork(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	before, err := srv.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, _, err := get(t, srv.URL()+"/v1/schema"); err != nil {
			t.Fatal(err)
		}
	}
	after, err := srv.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU time did not grow: %v then %v", before, after)
	}
}
