package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkRun is one wrk invocation.
type wrkRun struct {
	URL      string
	Script   string
	Threads  int
	Conns    int
	Duration time.Duration
}

// wrkResult is what the bench keeps of wrk's --latency report.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	RequestsPerS  float64 `json:"requests_per_sec"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	Non2xx        int64   `json:"non_2xx"`
	SocketErrors  int64   `json:"socket_errors"`
	DurationInRun string  `json:"duration"`
}

func findWrk() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk not found: run make deps (installs nginx-light and wrk)")
	}
	return p, nil
}

// writeWrkScript writes the Lua script that makes every request a POST of
// chatBody, with the bearer token when one is given, and a pause before each
// request when pause is positive. The file holds a token, so only its owner
// can read it.
func writeWrkScript(path, token string, pause time.Duration) error {
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(chatBody))
	b.WriteString("wrk.headers[\"Content-Type\"] = \"application/json\"\n")
	if token != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %s\n", luaString("Bearer "+token))
	}
	if pause > 0 {
		// wrk waits this long (in ms) before each request on a connection,
		// and starts the request's clock after the wait.
		fmt.Fprintf(&b, "function delay() return %d end\n", pause.Milliseconds())
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write wrk script %s: %w", filepath.Base(path), err)
	}
	return nil
}

// luaString quotes s as a Lua long string; the bodies and tokens used here
// never contain "]]".
func luaString(s string) string { return "[[" + s + "]]" }

func runWrk(ctx context.Context, bin string, r wrkRun) (wrkResult, error) {
	args := []string{
		"-t" + strconv.Itoa(r.Threads),
		"-c" + strconv.Itoa(r.Conns),
		"-d" + strconv.Itoa(int(r.Duration.Round(time.Second)/time.Second)) + "s",
		"--latency",
		"-s", r.Script,
		r.URL,
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", strings.Join(args[:3], " "), err, strings.TrimSpace(stderr.String()))
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk against %s: %w\n%s", r.URL, err, out)
	}
	return res, nil
}

var (
	wrkPercentile = regexp.MustCompile(`^\s*(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	wrkRate       = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)\s*$`)
	wrkTotal      = regexp.MustCompile(`^\s*(\d+) requests in ([0-9.]+\w+),`)
	wrkNon2xx     = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$`)
	wrkSocket     = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
)

// parseWrk reads requests/s, p50 and p99 (in microseconds) and the error
// counts out of the text wrk prints with --latency.
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	var haveP50, haveP99, haveRate bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := wrkPercentile.FindStringSubmatch(line); m != nil {
			us, err := toMicros(m[2], m[3])
			if err != nil {
				return res, err
			}
			if m[1] == "50" {
				res.P50us, haveP50 = us, true
			} else {
				res.P99us, haveP99 = us, true
			}
			continue
		}
		if m := wrkRate.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return res, fmt.Errorf("parse Requests/sec %q: %w", m[1], err)
			}
			res.RequestsPerS, haveRate = v, true
			continue
		}
		if m := wrkTotal.FindStringSubmatch(line); m != nil {
			res.Requests, _ = strconv.ParseInt(m[1], 10, 64)
			res.DurationInRun = m[2]
			continue
		}
		if m := wrkNon2xx.FindStringSubmatch(line); m != nil {
			res.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
			continue
		}
		if m := wrkSocket.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.ParseInt(s, 10, 64)
				res.SocketErrors += n
			}
		}
	}
	var missing []string
	if !haveP50 {
		missing = append(missing, "50% latency")
	}
	if !haveP99 {
		missing = append(missing, "99% latency")
	}
	if !haveRate {
		missing = append(missing, "Requests/sec")
	}
	if len(missing) > 0 {
		return res, fmt.Errorf("wrk output lacks %s (was --latency passed?)", strings.Join(missing, ", "))
	}
	return res, nil
}

// toMicros converts one of wrk's time values ("812.00us", "1.20ms", "2.01s",
// "1.50m") to microseconds.
func toMicros(num, unit string) (float64, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("parse latency %q: %w", num+unit, err)
	}
	switch unit {
	case "us":
		return v, nil
	case "ms":
		return v * 1e3, nil
	case "s":
		return v * 1e6, nil
	case "m":
		return v * 60e6, nil
	case "h":
		return v * 3600e6, nil
	}
	return 0, fmt.Errorf("unknown latency unit %q", unit)
}
