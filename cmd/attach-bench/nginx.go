package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// nginxConfig is a plain reverse proxy the way one would write it for
// production: HTTP/1.1 with a pool of keep-alive connections to the upstream,
// an access log, and as many workers as the gateway has cores. The keep-alive
// request limits are raised so neither side reconnects every 1000 requests,
// which the gateway never does either.
var nginxConfig = template.Must(template.New("nginx.conf").Parse(`{{if .Root}}user root;
{{end}}worker_processes {{.Workers}};
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/nginx-error.log warn;

events {
    worker_connections {{.WorkerConnections}};
}

http {
    access_log {{.Dir}}/nginx-access.log;
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy_temp;
    fastcgi_temp_path {{.Dir}}/fastcgi_temp;
    uwsgi_temp_path {{.Dir}}/uwsgi_temp;
    scgi_temp_path {{.Dir}}/scgi_temp;
    keepalive_requests 1000000;

    upstream engine {
        server {{.Upstream}};
        keepalive {{.Keepalive}};
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:{{.Port}};
        location / {
            proxy_pass http://engine;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`))

type nginxParams struct {
	Root              bool
	Workers           int
	WorkerConnections int
	Dir               string
	Upstream          string // host:port
	Keepalive         int
	Port              int
}

// findNginx returns the nginx binary; Debian installs it in /usr/sbin, which
// is not on every user's PATH.
func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", fmt.Errorf("nginx not found: run make deps (installs nginx-light and wrk), or -skip-nginx")
}

// startNginx writes the configuration into dir and runs nginx in the
// foreground as a child of the bench, so it can be stopped by its pid.
func startNginx(ctx context.Context, bin, dir string, p nginxParams) (*child, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("make nginx dir: %w", err)
	}
	p.Dir = dir
	var conf strings.Builder
	if err := nginxConfig.Execute(&conf, p); err != nil {
		return nil, "", fmt.Errorf("render nginx config: %w", err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, "", fmt.Errorf("write nginx config: %w", err)
	}
	errLog := filepath.Join(dir, "nginx-error.log")
	// -e sends the start-up errors, logged before the config is read, to the
	// temp dir too; -p keeps relative paths there.
	cmd := exec.Command(bin, "-p", dir+"/", "-e", errLog, "-c", confPath, "-g", "daemon off;")
	out, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		return nil, "", fmt.Errorf("create nginx output file: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	c, err := startChild("nginx", cmd)
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", p.Port)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := waitPort(wctx, c, addr); err != nil {
		_ = c.stop(5 * time.Second)
		return nil, "", fmt.Errorf("%w\n%s", err, tailFile(errLog, 10)+tailFile(filepath.Join(dir, "nginx.out"), 10))
	}
	return c, "http://" + addr, nil
}
