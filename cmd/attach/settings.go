package main

import (
	"flag"
	"fmt"
	"strconv"
)

// settingFlags are the settings a newcomer reaches for first, taken as flags
// too. Each stands for its variables: a flag that is set is what LoadConfig
// reads under every name of its setting, so it wins over the environment.
type settingFlags struct {
	values map[string]*string // flag name -> value ("" when not given)
}

// settingVars lists, per flag, the variables it stands for.
var settingVars = map[string][]string{
	"port":         {"ATTACH_PORT", "PORT"},
	"data-dir":     {"ATTACH_DATA_DIR"},
	"database-url": {"ATTACH_DATABASE_URL", "DATABASE_URL"},
}

func addSettingFlags(fs *flag.FlagSet) *settingFlags {
	s := &settingFlags{values: map[string]*string{}}
	port := new(string)
	fs.Func("port", "listen port (overrides ATTACH_PORT and PORT; default 8080)", func(v string) error {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("must be a port number (0-65535)")
		}
		*port = v
		return nil
	})
	s.values["port"] = port
	s.values["data-dir"] = fs.String("data-dir", "", "folder of the embedded Postgres and journals (overrides ATTACH_DATA_DIR; default ./.attach)")
	s.values["database-url"] = fs.String("database-url", "", "an external Postgres (overrides ATTACH_DATABASE_URL and DATABASE_URL); without it the gateway runs its own")
	return s
}

// getenv looks variables up in env, except those a given flag stands for.
func (s *settingFlags) getenv(env func(string) string) func(string) string {
	over := map[string]string{}
	for name, v := range s.values {
		if *v == "" {
			continue
		}
		for _, variable := range settingVars[name] {
			over[variable] = *v
		}
	}
	return func(key string) string {
		if v, ok := over[key]; ok {
			return v
		}
		return env(key)
	}
}
