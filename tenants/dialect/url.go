package dialect

import "strings"

// AppendURL appends the URL of an engine route: the engine's base URL,
// path prefix included, then path and the client's query. OpenAI base URLs
// usually end in /v1, which an OpenAI path then does not repeat.
func AppendURL(dst []byte, base, path string, query []byte) []byte {
	base = strings.TrimRight(base, "/")
	if strings.HasPrefix(path, "/v1/") && strings.HasSuffix(base, "/v1") {
		path = path[len("/v1"):]
	}
	if !strings.Contains(base, "://") {
		dst = append(dst, "http://"...)
	}
	dst = append(dst, base...)
	dst = append(dst, path...)
	if len(query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst
}

// URL is the URL of path on the engine at base, for the gateway's own calls
// to engines (model probes, embeddings).
func URL(base, path string) string {
	return string(AppendURL(nil, base, path, nil))
}
