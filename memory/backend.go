// The choice of memory store, which the gateway validates at start-up so a
// misconfigured install fails early.

package memory

import "fmt"

// Backends a team's memory can be mirrored to.
const (
	BackendPostgres = "postgres"
	BackendWeaviate = "weaviate"
	BackendNone     = "none"
)

// ParseBackend checks a MEM_BACKEND value; "" means the default, postgres.
func ParseBackend(s string) (string, error) {
	switch s {
	case "":
		return BackendPostgres, nil
	case BackendPostgres, BackendWeaviate, BackendNone:
		return s, nil
	}
	return "", fmt.Errorf("unknown memory backend %q (want postgres, weaviate or none)", s)
}
