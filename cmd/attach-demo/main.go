// Command attach-demo is `make demo`: the gateway on its embedded default,
// the demo's planner (A2A 0.3) and coder (A2A 1.0) agents registered for
// the default team, a real engine, and one hand-off from planner to coder
// through the gateway, whose task tree and memory it prints. Everything
// keeps running until Ctrl-C; then it stops what it started.
//
// The engine is ENGINE_URL when set; else an Ollama already answering on
// -engine-addr; else the one deploy/dev/ollama.sh runs (`make engine`),
// serving the tiny model.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
)

// options are the demo's flags.
type options struct {
	addr, plannerAddr, coderAddr, engineAddr string
	dataDir, binDir, model, goal             string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the gateway's address")
	flag.StringVar(&o.plannerAddr, "planner", "127.0.0.1:8181", "the planner agent's address")
	flag.StringVar(&o.coderAddr, "coder", "127.0.0.1:8182", "the coder agent's address")
	flag.StringVar(&o.engineAddr, "engine-addr", "127.0.0.1:11434", "where the demo's Ollama listens when ENGINE_URL is not set")
	flag.StringVar(&o.dataDir, "data", ".attach", "the gateway's data folder (embedded Postgres, admin token)")
	flag.StringVar(&o.binDir, "bin", "bin", "where attach, attach-planner and attach-coder are built")
	flag.StringVar(&o.model, "model", envOr("ATTACH_MODEL", "tiny"), "the engine model the coder asks")
	flag.StringVar(&o.goal, "message", "build a hello world", "what the user asks the planner")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demo{opts: o, out: os.Stdout}
	err := d.run(ctx)
	if err == nil {
		fmt.Fprintln(d.out, "\nEverything keeps running; Ctrl-C stops it.")
		<-ctx.Done()
	}
	fmt.Fprintln(d.out, "\nStopping what the demo started...")
	d.stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach-demo:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// demo is one run: its options and the processes it started, in order.
type demo struct {
	opts     options
	out      io.Writer
	children []*child
}

func (d *demo) stopAll() {
	for i := len(d.children) - 1; i >= 0; i-- {
		c := d.children[i]
		d.children[i].stop(15 * time.Second)
		fmt.Fprintf(d.out, "  stopped %s (pid %d)\n", c.name, c.cmd.Process.Pid)
	}
	d.children = nil
}

func (d *demo) start(name string, env []string, prog string, args ...string) (*child, error) {
	c, err := start(d.logDir(), name, env, prog, args...)
	if err != nil {
		return nil, err
	}
	d.children = append(d.children, c)
	fmt.Fprintf(d.out, "  started %s (pid %d, log %s)\n", name, c.cmd.Process.Pid, c.log)
	return c, nil
}

func (d *demo) logDir() string { return filepath.Join(d.opts.dataDir, "demo") }

func (d *demo) run(ctx context.Context) error {
	o := d.opts
	if err := os.MkdirAll(d.logDir(), 0o700); err != nil {
		return fmt.Errorf("log folder: %w", err)
	}
	gateway := "http://" + o.addr
	if up(gateway + "/healthz") {
		return fmt.Errorf("something already answers on %s: stop it, or pass -addr", o.addr)
	}

	fmt.Fprintln(d.out, "1. Engine")
	engineURL, err := d.engine(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintln(d.out, "2. Gateway (embedded Postgres in "+o.dataDir+")")
	host, port := splitAddr(o.addr)
	gw, err := d.start("gateway", []string{
		"ATTACH_HOST=" + host, "ATTACH_PORT=" + port, "ATTACH_DATA_DIR=" + o.dataDir,
		"ATTACH_PUBLIC_URL=" + gateway, "ENGINE_URL=" + engineURL,
		// The demo's agents listen on loopback, also when DATABASE_URL is
		// set in the environment (where private addresses are refused by
		// default).
		"ATTACH_ALLOW_PRIVATE_NETWORKS=true",
	}, filepath.Join(o.binDir, "attach"), "serve")
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, gw, gateway+"/readyz", 2*time.Minute); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	fmt.Fprintf(d.out, "  ready at %s; engine %s registered for the default team\n", gateway, engineURL)
	adm, dsn, err := d.adminAndDSN(gateway)
	if err != nil {
		return err
	}

	fmt.Fprintln(d.out, "3. Agents")
	agents := []struct{ name, addr, prog, version string }{
		{"coder", o.coderAddr, "attach-coder", "A2A 1.0, its own JSON-RPC server"},
		{"planner", o.plannerAddr, "attach-planner", "A2A 0.3, on the a2a-go SDK"},
	}
	for _, ag := range agents {
		args := []string{"-listen", ag.addr, "-gateway", gateway}
		if ag.name == "coder" {
			args = append(args, "-model", o.model)
		}
		c, err := d.start(ag.name, nil, filepath.Join(o.binDir, ag.prog), args...)
		if err != nil {
			return err
		}
		if err := waitHTTP(ctx, c, "http://"+ag.addr+"/.well-known/agent-card.json", 30*time.Second); err != nil {
			return fmt.Errorf("%s: %w", ag.name, err)
		}
		if err := adm.registerAgent(ctx, "default", ag.name, "http://"+ag.addr); err != nil {
			return err
		}
		if err := waitHTTP(ctx, gw, gateway+"/a2a/"+ag.name+"/.well-known/agent-card.json", 30*time.Second); err != nil {
			return fmt.Errorf("the gateway does not publish %s: %w", ag.name, err)
		}
		fmt.Fprintf(d.out, "  %-7s %s, registered with POST /admin/v1/teams/default/agents\n          published at %s/a2a/%s\n", ag.name, ag.version, gateway, ag.name)
	}

	fmt.Fprintln(d.out, "4. A user")
	key, user, err := adm.mintKey(ctx, "default")
	if err != nil {
		return err
	}
	keyFile := filepath.Join(d.logDir(), "api-key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep the API key: %w", err)
	}
	// A new key reaches the gateway's cached directory through
	// LISTEN/NOTIFY, a moment after the management API answers.
	if err := waitAuthorized(ctx, gateway+"/a2a/agents", key, 30*time.Second); err != nil {
		return fmt.Errorf("the new API key: %w", err)
	}
	fmt.Fprintf(d.out, "  API key for %s minted; it is in %s\n", user, keyFile)

	fmt.Fprintf(d.out, "5. Hand-off: message/send %q to %s/a2a/planner\n", o.goal, gateway)
	began := time.Now()
	task, err := handOff(ctx, gateway+"/a2a/planner", key, o.goal)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  planner task %s: %s in %s\n", task.ID, task.Status.State, time.Since(began).Round(time.Millisecond))
	fmt.Fprintf(d.out, "  answer: %s\n", oneLine(artifactText(task), 200))
	if task.Status.State != a2a.TaskStateCompleted {
		return errors.New("the hand-off did not complete; see the agents' logs in " + d.logDir())
	}
	fmt.Fprintln(d.out)
	if err := printTree(ctx, d.out, dsn, string(task.ID)); err != nil {
		return err
	}
	fmt.Fprintln(d.out)
	if err := printMemory(ctx, d.out, gateway, key, "planner", string(task.ID)); err != nil {
		return err
	}
	if len(task.Artifacts) > 0 {
		if coderTask, _ := task.Artifacts[0].Metadata["coder_task"].(string); coderTask != "" {
			fmt.Fprintln(d.out)
			if err := printMemory(ctx, d.out, gateway, key, "coder", coderTask); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(d.out)
	if err := printChat(ctx, d.out, gateway, key); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nTry it yourself:\n"+
		"  KEY=$(cat %s)\n"+
		"  curl -s -H \"Authorization: Bearer $KEY\" '%s/mem/events?task=%s'\n"+
		"  curl -s -H \"Authorization: Bearer $KEY\" %s/a2a/agents\n"+
		"  curl -s -H \"Authorization: Bearer $KEY\" -d '{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"tasks/get\",\"params\":{\"id\":\"%s\"}}' %s/a2a/planner\n",
		keyFile, gateway, task.ID, gateway, task.ID, gateway)
	return nil
}

// engine finds or starts the engine and returns its URL.
func (d *demo) engine(ctx context.Context) (string, error) {
	if u := os.Getenv("ENGINE_URL"); u != "" {
		fmt.Fprintf(d.out, "  ENGINE_URL=%s (model %s)\n", u, d.opts.model)
		return u, nil
	}
	u := "http://" + d.opts.engineAddr
	if up(u + "/api/version") {
		fmt.Fprintf(d.out, "  using the Ollama already on %s (model %s)\n", u, d.opts.model)
		return u, nil
	}
	script := filepath.Join("deploy", "dev", "ollama.sh")
	if _, err := os.Stat(script); err != nil {
		return "", errors.New("no engine: set ENGINE_URL to an Ollama-compatible engine (and ATTACH_MODEL to one of its models); " +
			"this checkout has no deploy/dev/ollama.sh to run one")
	}
	fmt.Fprintln(d.out, "  starting Ollama with the tiny model (deploy/dev/ollama.sh; its first run builds Ollama, 6-7 minutes)")
	c, err := d.start("engine", nil, script, "serve", d.opts.engineAddr)
	if err != nil {
		return "", err
	}
	if err := waitModel(ctx, c, u, d.opts.model, 20*time.Minute); err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	return u, nil
}

// waitModel waits until the engine lists model.
func waitModel(ctx context.Context, c *child, engine, model string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(engine + "/api/tags"); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if strings.Contains(string(b), `"`+model+`:`) || strings.Contains(string(b), `"`+model+`"`) {
				return nil
			}
		}
		if c.exited() {
			return fmt.Errorf("%s exited; see %s", c.name, c.log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("model %s not served within %s", model, within)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(time.Second):
		}
	}
}

// adminAndDSN finds the management API's token (ATTACH_ADMIN_TOKEN, or the
// one the embedded default keeps in the data folder) and the gateway's
// database.
func (d *demo) adminAndDSN(gateway string) (admin, string, error) {
	token := os.Getenv("ATTACH_ADMIN_TOKEN")
	if token == "" {
		b, err := os.ReadFile(filepath.Join(d.opts.dataDir, "admin.token"))
		if err != nil {
			return admin{}, "", fmt.Errorf("the management API's token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dir, err := filepath.Abs(filepath.Join(d.opts.dataDir, "postgres"))
		if err != nil {
			return admin{}, "", err
		}
		// The embedded default's socket folder, as deploy/pglocal makes it
		// when the path is short enough for a unix socket.
		quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(dir)
		dsn = "host='" + quoted + "' user=app dbname=app sslmode=disable"
	}
	return admin{base: gateway + "/admin/v1", token: token}, dsn, nil
}

// splitAddr is host and port of a listen address, the port 8080 when none.
func splitAddr(addr string) (host, port string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, "8080"
	}
	return host, port
}
