package weaviate

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestTenantName(t *testing.T) {
	t.Parallel()
	const id = "0190A000-0000-7000-8000-00000000ABCD"
	got, err := TenantName(id)
	if err != nil || got != "team-0190a000-0000-7000-8000-00000000abcd" {
		t.Errorf("TenantName(%s) = %q, %v", id, got, err)
	}
	// Spellings of one id name one tenant.
	if other, _ := TenantName("urn:uuid:" + strings.ToLower(id)); other != got {
		t.Errorf("urn form gave %q", other)
	}
	for _, bad := range []string{"", "acme", "0190a000-0000-7000-8000", "../x"} {
		if _, err := TenantName(bad); err == nil {
			t.Errorf("TenantName(%q) accepted", bad)
		}
	}
}

func TestParseURLKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	_, err := parseURL("http://admin:hunter2@weaviate:8080")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("URL with a password: %v", err)
	}
	for _, bad := range []string{"", "weaviate:8080", "ftp://weaviate", "http://", "http://w:8080/v1", "http://w?key=secret"} {
		if _, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("parseURL(%q) error shows the query: %v", bad, err)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8080", "https://x.weaviate.cloud/"} {
		if _, err := parseURL(good); err != nil {
			t.Errorf("parseURL(%q): %v", good, err)
		}
	}
}

func TestChunkEnd(t *testing.T) {
	t.Parallel()
	many := make([]attach.Event, 2500)
	if got := chunkEnd(many, 0); got != maxBatchObjects {
		t.Errorf("first chunk of 2500 small events ends at %d", got)
	}
	if got := chunkEnd(many, 2000); got != 2500 {
		t.Errorf("last chunk ends at %d", got)
	}
	big := []attach.Event{
		{Content: strings.Repeat("x", maxBatchBytes-10)},
		{Content: strings.Repeat("y", 100)},
		{Content: strings.Repeat("z", maxBatchBytes+1)},
	}
	if got := chunkEnd(big, 0); got != 1 {
		t.Errorf("chunk over the byte limit ends at %d, want 1", got)
	}
	// One event larger than the limit still goes, alone.
	if got := chunkEnd(big, 2); got != 3 {
		t.Errorf("an oversized event's chunk ends at %d, want 3", got)
	}
}

func TestVectorBytesIsLittleEndianFloat32(t *testing.T) {
	t.Parallel()
	b := vectorBytes([]float32{1.5, -2})
	if len(b) != 8 ||
		math.Float32frombits(binary.LittleEndian.Uint32(b[0:])) != 1.5 ||
		math.Float32frombits(binary.LittleEndian.Uint32(b[4:])) != -2 {
		t.Errorf("vectorBytes = %v", b)
	}
}
