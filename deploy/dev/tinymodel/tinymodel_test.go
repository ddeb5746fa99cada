package tinymodel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parsed is a GGUF file as read back by a reader written from the format's
// description, independently of the writer.
type parsed struct {
	version uint32
	kv      map[string]any
	infos   []tensorInfo
	data    []byte // from the start of the tensor data
}

type tensorInfo struct {
	name   string
	shape  []uint64
	typ    uint32
	offset uint64
}

type reader struct {
	r   *bytes.Reader
	err error
}

func (r *reader) read(n int) []byte {
	b := make([]byte, n)
	if r.err == nil {
		_, r.err = io.ReadFull(r.r, b)
	}
	return b
}

func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.read(8)) }
func (r *reader) str() string {
	n := r.u64()
	if n > 1<<20 {
		r.err = fmt.Errorf("string of %d bytes", n)
		return ""
	}
	return string(r.read(int(n)))
}

func (r *reader) value(typ uint32) any {
	switch typ {
	case ggufUint32:
		return r.u32()
	case ggufInt32:
		return int32(r.u32())
	case ggufFloat32:
		return math.Float32frombits(r.u32())
	case ggufBool:
		return r.read(1)[0] != 0
	case ggufString:
		return r.str()
	case ggufArray:
		elem, n := r.u32(), r.u64()
		if n > 1<<16 {
			r.err = fmt.Errorf("array of %d", n)
			return nil
		}
		out := make([]any, n)
		for i := range out {
			out[i] = r.value(elem)
		}
		return out
	}
	r.err = fmt.Errorf("unexpected value type %d", typ)
	return nil
}

func parse(b []byte) (*parsed, error) {
	r := &reader{r: bytes.NewReader(b)}
	if magic := string(r.read(4)); magic != "GGUF" {
		return nil, fmt.Errorf("magic %q", magic)
	}
	p := &parsed{version: r.u32(), kv: map[string]any{}}
	nt, nkv := r.u64(), r.u64()
	for range nkv {
		k := r.str()
		p.kv[k] = r.value(r.u32())
	}
	for range nt {
		ti := tensorInfo{name: r.str()}
		dims := r.u32()
		for range dims {
			ti.shape = append(ti.shape, r.u64())
		}
		ti.typ, ti.offset = r.u32(), r.u64()
		p.infos = append(p.infos, ti)
	}
	if r.err != nil {
		return nil, r.err
	}
	start := align(uint64(len(b) - r.r.Len()))
	if start > uint64(len(b)) {
		return nil, errors.New("no tensor data")
	}
	p.data = b[start:]
	return p, nil
}

// tensor is the F32 data of a tensor, checked to lie inside the file.
func (p *parsed) tensor(t *testing.T, name string) (tensorInfo, []float32) {
	t.Helper()
	for _, ti := range p.infos {
		if ti.name != name {
			continue
		}
		n := uint64(1)
		for _, d := range ti.shape {
			n *= d
		}
		if ti.offset+4*n > uint64(len(p.data)) {
			t.Fatalf("%s: data runs past the end of the file", name)
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p.data[ti.offset+4*uint64(i):]))
		}
		return ti, out
	}
	t.Fatalf("no tensor %s", name)
	return tensorInfo{}, nil
}

func writeModel(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFileHasWhatLlamaCppRequires(t *testing.T) {
	b := writeModel(t)
	if len(b) < 300<<10 || len(b) > 800<<10 {
		t.Errorf("file is %d bytes, want about 500 KB", len(b))
	}
	p, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.version != 3 {
		t.Errorf("version %d, want 3", p.version)
	}
	want := map[string]any{
		"general.architecture":                   "llama",
		"llama.context_length":                   uint32(context),
		"llama.embedding_length":                 uint32(64),
		"llama.block_count":                      uint32(2),
		"llama.feed_forward_length":              uint32(feedForward),
		"llama.attention.head_count":             uint32(heads),
		"llama.attention.head_count_kv":          uint32(heads),
		"llama.rope.dimension_count":             uint32(headDim),
		"llama.attention.layer_norm_rms_epsilon": float32(rmsEpsilon),
		"tokenizer.ggml.model":                   "llama",
		"tokenizer.ggml.bos_token_id":            uint32(bosID),
		"tokenizer.ggml.eos_token_id":            uint32(eosID),
	}
	for k, v := range want {
		if p.kv[k] != v {
			t.Errorf("%s = %#v, want %#v", k, p.kv[k], v)
		}
	}
	tokens, _ := p.kv["tokenizer.ggml.tokens"].([]any)
	scores, _ := p.kv["tokenizer.ggml.scores"].([]any)
	types, _ := p.kv["tokenizer.ggml.token_type"].([]any)
	if len(tokens) < 300 || len(tokens) > 500 || len(scores) != len(tokens) || len(types) != len(tokens) {
		t.Fatalf("%d tokens, %d scores, %d types; want a few hundred of each", len(tokens), len(scores), len(types))
	}
	// llama.cpp refuses a vocabulary with a token twice.
	seen := map[any]bool{}
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("token %q appears twice", tok)
		}
		seen[tok] = true
	}
	// SentencePiece falls back on byte tokens; llama.cpp looks every one up.
	for b := 0; b < 256; b++ {
		tok := fmt.Sprintf("<0x%02X>", b)
		found := false
		for i, x := range tokens {
			if x == tok && types[i] == int32(typeByte) {
				found = true
			}
		}
		if !found {
			t.Fatalf("no byte token %s", tok)
		}
	}
	if tmpl, _ := p.kv["tokenizer.chat_template"].(string); !strings.Contains(tmpl, "<|im_start|>assistant") {
		t.Errorf("chat template %q", tmpl)
	}

	n := uint64(len(tokens))
	shapes := map[string][]uint64{
		"token_embd.weight":  {64, n},
		"output_norm.weight": {64},
		"output.weight":      {64, n},
	}
	for b := range 2 {
		pre := fmt.Sprintf("blk.%d.", b)
		shapes[pre+"attn_norm.weight"] = []uint64{64}
		shapes[pre+"attn_q.weight"] = []uint64{64, 64}
		shapes[pre+"attn_k.weight"] = []uint64{64, 64}
		shapes[pre+"attn_v.weight"] = []uint64{64, 64}
		shapes[pre+"attn_output.weight"] = []uint64{64, 64}
		shapes[pre+"ffn_norm.weight"] = []uint64{64}
		shapes[pre+"ffn_gate.weight"] = []uint64{64, feedForward}
		shapes[pre+"ffn_up.weight"] = []uint64{64, feedForward}
		shapes[pre+"ffn_down.weight"] = []uint64{feedForward, 64}
	}
	if len(p.infos) != len(shapes) {
		t.Errorf("%d tensors, want %d", len(p.infos), len(shapes))
	}
	for _, ti := range p.infos {
		if fmt.Sprint(ti.shape) != fmt.Sprint(shapes[ti.name]) {
			t.Errorf("%s: shape %v, want %v", ti.name, ti.shape, shapes[ti.name])
		}
		if ti.typ != 0 {
			t.Errorf("%s: type %d, want F32 (0)", ti.name, ti.typ)
		}
		if ti.offset%alignment != 0 {
			t.Errorf("%s: offset %d not aligned to %d", ti.name, ti.offset, alignment)
		}
		p.tensor(t, ti.name) // inside the file
	}
}

// TestGreedyDecodingSaysTheSentence runs the model's forward pass on the
// weights read back from the file. The blocks' weights must be zero (each
// block then adds nothing to the state), so the state at the last position
// is the last token's embedding; it is normalised (RMS) and projected onto
// the vocabulary, and the highest logit is the next token.
func TestGreedyDecodingSaysTheSentence(t *testing.T) {
	p, err := parse(writeModel(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range p.infos {
		if !strings.HasPrefix(ti.name, "blk.") || strings.HasSuffix(ti.name, "norm.weight") {
			continue
		}
		_, w := p.tensor(t, ti.name)
		for _, x := range w {
			if x != 0 {
				t.Fatalf("%s has a non-zero weight", ti.name)
			}
		}
	}
	raw := p.kv["tokenizer.ggml.tokens"].([]any)
	tokens := make([]string, len(raw))
	for i, x := range raw {
		tokens[i] = x.(string)
	}
	_, embd := p.tensor(t, "token_embd.weight")
	_, norm := p.tensor(t, "output_norm.weight")
	_, out := p.tensor(t, "output.weight")
	step := func(tok int) (next int, margin float32) {
		h := embd[tok*64 : tok*64+64]
		var ss float32
		for _, x := range h {
			ss += x * x
		}
		scale := 1 / float32(math.Sqrt(float64(ss/64+rmsEpsilon)))
		best, second := float32(math.Inf(-1)), float32(math.Inf(-1))
		for v := range tokens {
			var logit float32
			for d := range 64 {
				logit += out[v*64+d] * h[d] * scale * norm[d]
			}
			if logit > best {
				best, second, next = logit, best, v
			} else if logit > second {
				second = logit
			}
		}
		return next, best - second
	}
	// A prompt ends in a newline (Template), a byte token; any other token
	// that is not part of the answer starts it the same way.
	for _, last := range []string{"<0x0A>", "<s>", "<|im_start|>", "▁hello", "x"} {
		tok := -1
		for i, s := range tokens {
			if s == last {
				tok = i
			}
		}
		if tok < 0 {
			t.Fatalf("no token %q", last)
		}
		var said strings.Builder
		for range 20 {
			next, margin := step(tok)
			if margin < 30 {
				t.Errorf("after %q: logit margin %.1f, want a wide one so sampling is greedy too", tokens[tok], margin)
			}
			if next == eosID {
				break
			}
			said.WriteString(strings.ReplaceAll(tokens[next], "▁", " "))
			tok = next
		}
		if said.String() != Sentence {
			t.Errorf("after %q the model says %q, want %q", last, said.String(), Sentence)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	modelfile, err := WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := os.ReadFile(modelfile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mf), "FROM ./tiny.gguf\nTEMPLATE \"\"\"") {
		t.Errorf("Modelfile:\n%s", mf)
	}
	if _, err := os.Stat(filepath.Join(dir, "tiny.gguf")); err != nil {
		t.Error(err)
	}
}
