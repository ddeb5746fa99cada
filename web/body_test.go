package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// bodyServer serves POST /echo, which reads the body through bodies with
// limit and answers its length, on a real loopback listener with the
// gateway's streaming configuration. A request header X-Hold makes the
// handler wait on hold after reading, so that a test can see what held
// bodies take from the budget.
func bodyServer(t *testing.T, bodies *Bodies, limit int, hold chan struct{}) string {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true, StreamRequestBody: true, ErrorHandler: WriteError})
	app.Use(bodies.Track)
	app.Post("/echo", func(c *fiber.Ctx) error {
		if err := bodies.Read(c, limit); err != nil {
			return err
		}
		if c.Get("X-Hold") != "" {
			<-hold
		}
		return c.SendString(fmt.Sprintf("%d %x", len(c.Body()), sum(c.Body())))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func sum(b []byte) (s uint32) {
	for _, c := range b {
		s = s*31 + uint32(c)
	}
	return s
}

// chunked is a body of unknown length: the client sends it chunked.
type chunked struct{ io.Reader }

func post(t *testing.T, url string, body io.Reader, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/echo", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBodiesReadWithinTheLimit(t *testing.T) {
	t.Parallel()
	bodies := NewBodies(1 << 20)
	url := bodyServer(t, bodies, 100<<10, nil)
	for _, n := range []int{0, 1, 8 << 10, 8<<10 + 1, 100 << 10} {
		body := bytes.Repeat([]byte("abcdefg"), n/7+1)[:n]
		want := fmt.Sprintf("%d %x", n, sum(body))
		if st, got := post(t, url, bytes.NewReader(body), nil); st != 200 || got != want {
			t.Errorf("%d bytes with a length: %d %q, want %q", n, st, got, want)
		}
		if st, got := post(t, url, chunked{bytes.NewReader(body)}, nil); st != 200 || got != want {
			t.Errorf("%d bytes chunked: %d %q, want %q", n, st, got, want)
		}
	}
	if n := bodies.Held(); n != 0 {
		t.Fatalf("%d bytes still held after every request ended", n)
	}
}

func TestBodiesRefuseWhatIsTooLarge(t *testing.T) {
	t.Parallel()
	bodies := NewBodies(1 << 20)
	url := bodyServer(t, bodies, 100<<10, nil)
	big := strings.Repeat("x", 100<<10+1)
	for name, body := range map[string]io.Reader{"with a length": strings.NewReader(big), "chunked": chunked{strings.NewReader(big)}} {
		st, got := post(t, url, body, nil)
		if st != http.StatusRequestEntityTooLarge || !strings.Contains(got, `"body_too_large"`) || !strings.Contains(got, "100 KiB") {
			t.Errorf("%s: %d %s", name, st, got)
		}
	}
	st, got := post(t, url, strings.NewReader(`{"a":1}`), map[string]string{"Content-Encoding": "gzip"})
	if st != http.StatusUnsupportedMediaType {
		t.Errorf("compressed body: %d %s", st, got)
	}
	if n := bodies.Held(); n != 0 {
		t.Fatalf("%d bytes still held after every request ended", n)
	}
}

// A body declared larger than the limit is refused from its headers: the
// answer comes although the body never does.
func TestBodiesRefuseADeclaredSizeWithoutReading(t *testing.T) {
	t.Parallel()
	url := bodyServer(t, NewBodies(1<<20), 100<<10, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n%s", strings.Repeat("x", 8<<10))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// Bodies held at once share the budget; past it, requests are refused
// with 503 and Retry-After, and what was held returns when they end.
func TestBodiesShareABudget(t *testing.T) {
	t.Parallel()
	bodies := NewBodies(100 << 10)
	hold := make(chan struct{})
	url := bodyServer(t, bodies, 100<<10, hold)
	held := make(chan int)
	go func() {
		st, _ := post(t, url, strings.NewReader(strings.Repeat("x", 60<<10)), map[string]string{"X-Hold": "1"})
		held <- st
	}()
	for bodies.Held() < 60<<10 {
		// The held request's body is read; it takes 60 KiB of the 100.
		time.Sleep(time.Millisecond)
	}
	req, _ := http.NewRequest("POST", url+"/echo", strings.NewReader(strings.Repeat("y", 50<<10)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), `"busy"`) {
		t.Fatalf("over the budget: %d %s %s", resp.StatusCode, resp.Header, b)
	}
	close(hold)
	if st := <-held; st != 200 {
		t.Fatalf("held request: %d", st)
	}
	if n := bodies.Held(); n != 0 {
		t.Fatalf("%d bytes still held after every request ended", n)
	}
	if st, _ := post(t, url, strings.NewReader(strings.Repeat("y", 50<<10)), nil); st != 200 {
		t.Fatalf("after the budget came back: %d", st)
	}
}
