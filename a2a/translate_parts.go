package a2a

import (
	"errors"
	"fmt"
)

// dataPartCompatFlag marks, in a 0.3 data part's metadata, a 1.0 data
// value that was not an object: 0.3 data parts hold objects only, so such a
// value travels as {"value": v}. The name is the one the reference 1.0
// SDK's 0.3 compatibility layer uses, so either side unwraps the other's.
const dataPartCompatFlag = "data_part_compat"

// 0.3 parts: {"kind":"text","text"}, {"kind":"file","file":{"bytes"|"uri",
// "mimeType","name"}}, {"kind":"data","data":{…}}, each with metadata.
// 1.0 parts have no kind: exactly one of text, raw (base64), url or data
// (any JSON value), plus mediaType, filename and metadata.

func partTo10(p map[string]any) (map[string]any, error) {
	kind, err := partKind03(p)
	if err != nil {
		return nil, err
	}
	out := shallowCopy(p)
	delete(out, "kind")
	// A 1.0 part is typed by which content member it has, so members that
	// would name another type cannot pass through.
	for _, k := range []string{"text", "raw", "url", "data", "mediaType", "filename"} {
		if k != kind {
			delete(out, k)
		}
	}
	switch kind {
	case "text":
		if _, ok := p["text"].(string); !ok {
			return nil, fmt.Errorf("text part: text: want a string, got %s", typeName(p["text"]))
		}
	case "file":
		delete(out, "file")
		f, err := asObject(p["file"], "file part: file")
		if err != nil {
			return nil, err
		}
		b, err := stringField(f, "bytes")
		if err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		uri, err := stringField(f, "uri")
		if err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		switch {
		case b != "" && uri != "":
			return nil, errors.New("file part: both bytes and uri are set")
		case b != "":
			out["raw"] = b
		case uri != "":
			out["url"] = uri
		default:
			return nil, errors.New("file part: neither bytes nor uri is set")
		}
		if err := renameString(f, "mimeType", out, "mediaType"); err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		if err := renameString(f, "name", out, "filename"); err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
	case "data":
		if _, err := asObject(p["data"], "data part: data"); err != nil {
			return nil, err
		}
		unwrapCompatData(out)
	}
	return out, nil
}

// partKind03 reads a 0.3 part's kind; a part without one is typed by the
// member it carries, as some 0.3 senders leave kind out.
func partKind03(p map[string]any) (string, error) {
	kind, err := stringField(p, "kind")
	if err != nil {
		return "", fmt.Errorf("part: %w", err)
	}
	if kind == "" {
		for _, k := range []string{"text", "file", "data"} {
			if p[k] != nil {
				kind = k
				break
			}
		}
	}
	switch kind {
	case "text", "file", "data":
		return kind, nil
	case "":
		return "", errors.New("part: no kind and no text, file or data")
	}
	return "", fmt.Errorf("part: unknown kind %q", kind)
}

// unwrapCompatData undoes the wrapping of a non-object data value (see
// dataPartCompatFlag) on a part being made 1.0.
func unwrapCompatData(out map[string]any) {
	md, ok := out["metadata"].(map[string]any)
	if !ok || md[dataPartCompatFlag] != true {
		return
	}
	if d, ok := out["data"].(map[string]any); ok {
		if v, ok := d["value"]; ok {
			out["data"] = v
		}
	}
	md = shallowCopy(md)
	delete(md, dataPartCompatFlag)
	if len(md) == 0 {
		delete(out, "metadata")
	} else {
		out["metadata"] = md
	}
}

func partTo03(p map[string]any) (map[string]any, error) {
	var which []string
	for _, k := range []string{"text", "raw", "url", "data"} {
		if p[k] != nil {
			which = append(which, k)
		}
	}
	// Proto-JSON reads a null google.protobuf.Value as the null value, so a
	// part whose only content is "data": null is a data part.
	if _, ok := p["data"]; ok && len(which) == 0 {
		which = []string{"data"}
	}
	if len(which) != 1 {
		if len(which) == 0 {
			return nil, errors.New("part: none of text, raw, url or data is set")
		}
		return nil, fmt.Errorf("part: more than one of %v is set", which)
	}
	out := shallowCopy(p)
	for _, k := range []string{"text", "raw", "url", "data", "mediaType", "filename"} {
		delete(out, k)
	}
	switch which[0] {
	case "text":
		if _, ok := p["text"].(string); !ok {
			return nil, fmt.Errorf("text part: text: want a string, got %s", typeName(p["text"]))
		}
		out["kind"] = "text"
		out["text"] = p["text"]
	case "raw", "url":
		f := map[string]any{}
		key := map[string]string{"raw": "bytes", "url": "uri"}[which[0]]
		if err := renameString(p, which[0], f, key); err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		// A 0.3 file needs non-empty bytes or uri.
		if f[key] == nil {
			return nil, fmt.Errorf("file part: %s is empty", which[0])
		}
		if err := renameString(p, "mediaType", f, "mimeType"); err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		if err := renameString(p, "filename", f, "name"); err != nil {
			return nil, fmt.Errorf("file part: %w", err)
		}
		out["kind"] = "file"
		out["file"] = f
	case "data":
		out["kind"] = "data"
		if _, ok := p["data"].(map[string]any); ok {
			out["data"] = p["data"]
			break
		}
		md := map[string]any{}
		if p["metadata"] != nil {
			m, err := asObject(p["metadata"], "data part: metadata")
			if err != nil {
				return nil, err
			}
			md = shallowCopy(m)
		}
		md[dataPartCompatFlag] = true
		out["metadata"] = md
		out["data"] = map[string]any{"value": p["data"]}
	}
	return out, nil
}

// renameString copies an optional non-empty string member from one object
// to another under a new name.
func renameString(from map[string]any, fromKey string, to map[string]any, toKey string) error {
	s, err := stringField(from, fromKey)
	if err != nil {
		return err
	}
	if s != "" {
		to[toKey] = s
	}
	return nil
}

// Messages carry the same members in both versions except kind (0.3 only)
// and the role's spelling; their parts are translated one by one.

func messageTo10(m map[string]any) (map[string]any, error) {
	if err := checkStrings(m, "messageId", "contextId", "taskId"); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	out := shallowCopy(m)
	delete(out, "kind")
	role, err := roleTo10(m["role"])
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	out["role"] = role
	if m["parts"] == nil {
		return nil, errors.New("message: parts: missing")
	}
	if err := mapArray(out, "parts", partTo10); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return out, nil
}

func messageTo03(m map[string]any) (map[string]any, error) {
	if err := checkStrings(m, "messageId", "contextId", "taskId"); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	out := shallowCopy(m)
	out["kind"] = "message"
	role, err := roleTo03(m["role"])
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	out["role"] = role
	// Proto-JSON leaves an empty repeated field out; 0.3 requires parts.
	if m["parts"] == nil {
		out["parts"] = []any{}
	}
	if err := mapArray(out, "parts", partTo03); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return out, nil
}

func artifactTo10(a map[string]any) (map[string]any, error) {
	if err := checkStrings(a, "artifactId", "name", "description"); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	out := shallowCopy(a)
	// Both versions require parts; a 0.3 sender that left them out meant none.
	if a["parts"] == nil {
		out["parts"] = []any{}
	}
	if err := mapArray(out, "parts", partTo10); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	return out, nil
}

func artifactTo03(a map[string]any) (map[string]any, error) {
	if err := checkStrings(a, "artifactId", "name", "description"); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	out := shallowCopy(a)
	if a["parts"] == nil {
		out["parts"] = []any{}
	}
	if err := mapArray(out, "parts", partTo03); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	return out, nil
}
