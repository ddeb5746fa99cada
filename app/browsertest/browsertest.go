// Package browsertest drives a real headless Chromium for end-to-end tests
// of the console, through the DevTools protocol (chromedp). It finds the
// browser on the machine; `make test` installs it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with its own profile.
type Browser struct {
	ctx context.Context
	dir string // where screenshots go
}

// candidates are the names Chromium goes by on Debian and elsewhere.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path finds the browser: ATTACH_CHROMIUM, else the first candidate on PATH.
func Path() (string, bool) {
	if p := os.Getenv("ATTACH_CHROMIUM"); p != "" {
		return p, true
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, true
		}
	}
	return "", false
}

// Start launches a browser for the test and closes it in Cleanup. Without a
// browser the test fails: the console's tests are part of the suite. With
// -short the test is skipped.
func Start(t testing.TB) *Browser {
	t.Helper()
	SkipIfShort(t)
	path, ok := Path()
	if !ok {
		t.Fatal("no Chromium found: run `make deps` (it installs the chromium package) or set ATTACH_CHROMIUM")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// Launch now, so a browser that cannot start fails here with a clear
	// message rather than in the first step. The first call's context must
	// carry no timeout: it would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return &Browser{ctx: ctx, dir: ScreenshotDir(t)}
}

// SkipIfShort skips a browser test when tests run with -short: a journey
// through Chromium takes seconds, and the edit-test loop goes without it. A
// test calls it first, to skip before it sets up what the browser would use.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real Chromium; skipped with -short")
	}
}

// stepTimeout bounds one Do or Get, so a missing element fails the test
// instead of hanging it.
const stepTimeout = 30 * time.Second

// Do performs steps, failing the test with the step's error and a
// screenshot of the page as it was.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Screenshot(t, "failure")
		t.Fatalf("browser: %v", err)
	}
}

// Get runs one action that reads a value (a text, a location, ...).
func Get[T any](t testing.TB, b *Browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.Screenshot(t, "failure")
		t.Fatalf("browser: %v", err)
	}
	return v
}

// Context is the browser tab's context, for chromedp calls the helpers do not cover.
func (b *Browser) Context() context.Context { return b.ctx }

// Screenshot saves the whole page as DIR/NAME.png for a person to look at.
func (b *Browser) Screenshot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("save screenshot: %v", err)
	}
}

// emptied holds the screenshot folders already emptied in this run.
var emptied sync.Map

// ScreenshotDir is testout/screenshots/TEST at the repository root
// (git-ignored), made fresh for the test: emptied the first time, so the
// shots of a test's second browser join those of its first.
func ScreenshotDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir := filepath.Join(root, "testout", "screenshots", filepath.Base(t.Name()))
	if _, seen := emptied.LoadOrStore(dir, true); !seen {
		_ = os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}
