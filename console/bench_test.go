package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkPages renders the engines page and the audit page of a team with
// 1,000 engines and 10,000 audit rows, through the HTTP server and the
// handlers, as a browser asks for them.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	u := e.user("bench")
	team := e.team("big", u)
	fill(b, 1000, func(i int) error {
		_, err := e.store.CreateEngine(testCtx(b), team.ID, tenants.EngineInput{
			Name: fmt.Sprintf("engine-%04d", i), Dialect: "ollama", BaseURL: "http://10.0.0.1:11434",
			Models: []string{"model-" + strconv.Itoa(i), "shared"},
		})
		return err
	})
	fill(b, 10000, func(i int) error {
		return e.store.RecordAudit(testCtx(b), team.ID, tenants.AuditEntry{
			ActorID: u.ID, ActorName: u.Email, ActorIP: "192.0.2.1", Action: tenants.AuditEngineUpdate,
			TargetType: "engine", TargetName: "engine-" + strconv.Itoa(i%1000),
		})
	})
	br := e.signedIn(u)
	for _, name := range []string{"engines", "audit"} {
		path := "/t/big/" + name
		b.Run(name, func(b *testing.B) {
			p := br.get(Base + path)
			row := `data-testid="` + strings.TrimSuffix(name, "s") + `-row"`
			if p.StatusCode != http.StatusOK || strings.Count(p.Body, row) != 50 {
				b.Fatalf("%s: status %d, %d rows", path, p.StatusCode, strings.Count(p.Body, row))
			}
			b.ResetTimer()
			for b.Loop() {
				if p := br.get(Base + path); p.StatusCode != http.StatusOK {
					b.Fatalf("status %d", p.StatusCode)
				}
			}
		})
	}
}

// fill runs add n times on a few connections at once.
func fill(b *testing.B, n int, add func(i int) error) {
	b.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := add(i); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
