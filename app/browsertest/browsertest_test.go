package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserRendersAPage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="x">hello <b>browser</b></p>`))
	}))
	defer srv.Close()
	b := Start(t)
	b.Do(t, chromedp.Navigate(srv.URL))
	text := Get(t, b, chromedp.Text("#x"))
	if text != "hello browser" {
		t.Fatalf("page text = %q", text)
	}
}
