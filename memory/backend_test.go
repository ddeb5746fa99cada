package memory

import "testing"

func TestParseBackend(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "postgres", "postgres": "postgres", "weaviate": "weaviate", "none": "none"} {
		got, err := ParseBackend(in)
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Weaviate", "redis", " none"} {
		if _, err := ParseBackend(in); err == nil {
			t.Errorf("ParseBackend(%q) accepted a bad value", in)
		}
	}
}
