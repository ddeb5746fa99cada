package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"--version"}, 0, "attach dev", ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"version"}, 0, "attach dev", ""},
		{[]string{"version", "--help"}, 0, "Usage: attach version", ""},
		{[]string{"serve", "--help"}, 0, "OIDC_ISSUER", ""},
		{[]string{"migrate", "-h"}, 0, "Usage: attach migrate", ""},
		{[]string{"worker", "--help"}, 0, "Usage: attach worker", ""},
		{[]string{"user", "--help"}, 0, "Usage: attach user create", ""},
		{[]string{"user"}, 2, "", "Usage: attach user create"},
		{[]string{"user", "create"}, 2, "", "--email is required"},
		{[]string{"launch"}, 2, "", "attach --help"},
		{[]string{"serve", "--port", "x"}, 2, "", "must be a port number"},
		{[]string{"serve", "--listen", "1"}, 2, "", "flag provided but not defined"},
		{[]string{"version", "extra"}, 2, "", `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errb.String(), tc.inStderr) {
			t.Errorf("attach %v: exit %d\nstdout: %s\nstderr: %s", tc.args, code, out.String(), errb.String())
		}
	}
}

func TestBadConfigStopsWithOneLine(t *testing.T) {
	for _, tc := range []struct{ name, value, cmd string }{
		{"PORT", "eighty", "serve"},
		{"OIDC_ISSUER", "https://idp.example/", "serve"},
		{"MEM_BACKEND", "redis", "migrate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			var out, errb bytes.Buffer
			if code := run([]string{tc.cmd}, &out, &errb); code != 1 {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "config: ") {
				t.Fatalf("want one config line, got %q", msg)
			}
			want := tc.name
			if tc.name == "OIDC_ISSUER" {
				want = "OIDC_AUD" // the missing companion is what is named
			}
			if !strings.Contains(msg, want) {
				t.Fatalf("error %q does not name %s", msg, want)
			}
		})
	}
}
