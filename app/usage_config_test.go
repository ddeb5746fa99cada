package app

import (
	"errors"
	"testing"
	"time"
)

func TestUsageConfig(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Usage; !u.Enabled || u.RawRetention != 7*24*time.Hour || u.RollupRetention != 396*24*time.Hour || u.Buffer != 50000 || u.ExportURL != "" {
		t.Errorf("defaults %+v", u)
	}
	c, err = LoadConfig(envOf(map[string]string{"ATTACH_USAGE": "false", "ATTACH_USAGE_RAW_RETENTION": "36h",
		"ATTACH_USAGE_ROLLUP_RETENTION": "30d", "ATTACH_USAGE_BUFFER": "1000",
		"ATTACH_USAGE_EXPORT_URL": "https://openmeter.example/api/v1/events", "ATTACH_USAGE_EXPORT_TOKEN": "om-token"}))
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Usage; u.Enabled || u.RawRetention != 36*time.Hour || u.RollupRetention != 30*24*time.Hour || u.Buffer != 1000 ||
		u.ExportURL != "https://openmeter.example/api/v1/events" || u.ExportToken != "om-token" {
		t.Errorf("set %+v", u)
	}
	for name, v := range map[string]string{
		"ATTACH_USAGE_RAW_RETENTION":    "-1d",
		"ATTACH_USAGE_ROLLUP_RETENTION": "a year",
		"ATTACH_USAGE_BUFFER":           "lots",
		"ATTACH_USAGE_EXPORT_URL":       "openmeter.example",
		"ATTACH_USAGE":                  "maybe",
	} {
		_, err := LoadConfig(envOf(map[string]string{name: v}))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%s: %v, want an error naming it", name, v, err)
		}
	}
}
