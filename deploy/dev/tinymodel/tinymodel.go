// Package tinymodel writes a tiny language model that a real Ollama can
// load and serve: a llama-architecture GGUF v3 file of about 500 KB whose
// weights are set by hand, not trained, so that it answers Sentence to any
// prompt. Tests and `make engine` use it to run a real engine without
// downloading model weights.
//
// How the weights make the answer: each block's attention and feed-forward
// weights are zero, so both blocks add nothing and the state at the last
// position is the embedding of the last token, whatever came before it and
// wherever it stands. Every token's embedding is a one-hot vector naming
// its class: one class for each token of the sentence and one for every
// other token. The output layer maps each class to the next token: any
// other token to the sentence's first, each sentence token to the one after
// it, the last to end-of-sequence. A prompt rendered with Template always
// ends in a newline, an "other" token, so the answer starts at the
// sentence's first token and ends after its last. The winning logit is 64
// above all others, so sampling at any usual temperature picks it too.
package tinymodel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Sentence is what the model answers to every prompt.
const Sentence = "Hello from the tiny model."

// Template is the Ollama prompt template (ChatML) to create the model with.
// Each turn ends in a newline, so the last prompt token is always one the
// model answers with the sentence's first token.
const Template = `{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`

// chatTemplate is the same template in the Jinja form GGUF files carry.
const chatTemplate = `{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

// Hyperparameters. Four heads of sixteen dimensions; the context is what
// Ollama asks for by default.
const (
	embedding   = 64
	blocks      = 2
	feedForward = 128
	heads       = 4
	headDim     = embedding / heads
	context     = 4096
	rmsEpsilon  = 1e-5
	// logitScale times the normalised one-hot state (about 8) is the
	// winning logit.
	logitScale = 8
)

// Token ids fixed by the SentencePiece convention llama.cpp follows.
const (
	unkID = 0
	bosID = 1
	eosID = 2
)

// SentencePiece token types, as llama.cpp numbers them.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

// answer is Sentence as tokens; "▁" stands for a space. The first piece has
// none, so the answer does not start with a space.
var answer = []string{"Hello", "▁from", "▁the", "▁tiny", "▁model", "."}

// Vocabulary is the model's tokens with their types, in id order.
type Vocabulary struct {
	Tokens []string
	Types  []int32
	Scores []float32
}

// vocabulary is 5 special tokens, the 256 byte tokens SentencePiece falls
// back on for text no piece covers (llama.cpp requires them all), single
// characters and common words, and the pieces of the answer: 400 or so.
func vocabulary() Vocabulary {
	var v Vocabulary
	add := func(tok string, typ int32, score float32) {
		v.Tokens = append(v.Tokens, tok)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", typeUnknown, 0)
	add("<s>", typeControl, 0)
	add("</s>", typeControl, 0)
	add("<|im_start|>", typeControl, 0)
	add("<|im_end|>", typeControl, 0)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), typeByte, 0)
	}
	// Later pieces score lower: SentencePiece merges the highest first.
	score := float32(-1)
	normal := func(tok string) {
		add(tok, typeNormal, score)
		score--
	}
	for _, p := range answer {
		normal(p)
	}
	normal("▁")
	for c := 'a'; c <= 'z'; c++ {
		normal(string(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		normal(string(c))
	}
	for c := '0'; c <= '9'; c++ {
		normal(string(c))
	}
	for _, p := range []string{",", "!", "?", ":", ";", "'", "\"", "-", "(", ")", "/"} {
		normal(p)
	}
	for _, w := range []string{
		"a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do",
		"for", "have", "he", "hi", "how", "i", "if", "in", "is", "it", "me",
		"my", "no", "not", "of", "on", "or", "say", "she", "so", "that",
		"this", "to", "was", "we", "what", "who", "why", "with", "yes", "you",
		"hello", "world", "tell", "story", "about", "please", "thanks",
		"question", "answer", "user", "assistant", "system",
	} {
		normal("▁" + w)
	}
	return v
}

// class is the one-hot dimension of a token's embedding: 1+i for the i-th
// token of the answer, 0 for every other token.
func class(v Vocabulary, id int) int {
	for i, p := range answer {
		if v.Tokens[id] == p && v.Types[id] == typeNormal {
			return 1 + i
		}
	}
	return 0
}

// next is the token id the output layer picks for a state of class c.
func next(v Vocabulary, c int) int {
	if c == len(answer) {
		return eosID
	}
	for id, tok := range v.Tokens {
		if tok == answer[c] && v.Types[id] == typeNormal {
			return id
		}
	}
	panic("tinymodel: answer piece missing from the vocabulary: " + answer[c])
}

// tensor is one F32 tensor. Shape lists dimensions innermost first, as
// GGUF does: a matrix applied to a vector of n gives m is {n, m}.
type tensor struct {
	name  string
	shape []uint64
	data  []float32
}

func newTensor(name string, shape ...uint64) tensor {
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	return tensor{name: name, shape: shape, data: make([]float32, n)}
}

func ones(name string, n uint64) tensor {
	t := newTensor(name, n)
	for i := range t.data {
		t.data[i] = 1
	}
	return t
}

// tensors are the model's weights, in the order llama.cpp lists them.
func tensors(v Vocabulary) []tensor {
	n := uint64(len(v.Tokens))
	embd := newTensor("token_embd.weight", embedding, n)
	for id := range v.Tokens {
		embd.data[id*embedding+class(v, id)] = 1
	}
	out := newTensor("output.weight", embedding, n)
	for c := 0; c <= len(answer); c++ {
		out.data[next(v, c)*embedding+c] = logitScale
	}
	ts := []tensor{embd}
	for b := range blocks {
		p := fmt.Sprintf("blk.%d.", b)
		ts = append(ts,
			ones(p+"attn_norm.weight", embedding),
			newTensor(p+"attn_q.weight", embedding, heads*headDim),
			newTensor(p+"attn_k.weight", embedding, heads*headDim),
			newTensor(p+"attn_v.weight", embedding, heads*headDim),
			newTensor(p+"attn_output.weight", heads*headDim, embedding),
			ones(p+"ffn_norm.weight", embedding),
			newTensor(p+"ffn_gate.weight", embedding, feedForward),
			newTensor(p+"ffn_up.weight", embedding, feedForward),
			newTensor(p+"ffn_down.weight", feedForward, embedding),
		)
	}
	return append(ts, ones("output_norm.weight", embedding), out)
}

// GGUF metadata value types.
const (
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
)

// alignment is where GGUF places the tensor data and each tensor in it.
const alignment = 32

// Write writes the model as a GGUF v3 file.
func Write(w io.Writer) error {
	v := vocabulary()
	ts := tensors(v)
	g := &gguf{w: bufio.NewWriter(w)}

	kvs := []func(){
		func() { g.kvString("general.architecture", "llama") },
		func() { g.kvString("general.name", "tiny") },
		func() { g.kvUint32("general.file_type", 0) }, // all F32
		func() { g.kvUint32("general.alignment", alignment) },
		func() { g.kvUint32("llama.context_length", context) },
		func() { g.kvUint32("llama.embedding_length", embedding) },
		func() { g.kvUint32("llama.block_count", blocks) },
		func() { g.kvUint32("llama.feed_forward_length", feedForward) },
		func() { g.kvUint32("llama.attention.head_count", heads) },
		func() { g.kvUint32("llama.attention.head_count_kv", heads) },
		func() { g.kvUint32("llama.rope.dimension_count", headDim) },
		func() { g.kvFloat32("llama.rope.freq_base", 10000) },
		func() { g.kvFloat32("llama.attention.layer_norm_rms_epsilon", rmsEpsilon) },
		func() { g.kvUint32("llama.vocab_size", uint32(len(v.Tokens))) },
		func() { g.kvString("tokenizer.ggml.model", "llama") },
		func() { g.kvStrings("tokenizer.ggml.tokens", v.Tokens) },
		func() { g.kvFloat32s("tokenizer.ggml.scores", v.Scores) },
		func() { g.kvInt32s("tokenizer.ggml.token_type", v.Types) },
		func() { g.kvUint32("tokenizer.ggml.bos_token_id", bosID) },
		func() { g.kvUint32("tokenizer.ggml.eos_token_id", eosID) },
		func() { g.kvUint32("tokenizer.ggml.unknown_token_id", unkID) },
		func() { g.kvBool("tokenizer.ggml.add_bos_token", true) },
		func() { g.kvBool("tokenizer.ggml.add_eos_token", false) },
		func() { g.kvString("tokenizer.chat_template", chatTemplate) },
	}

	g.raw([]byte("GGUF"))
	g.u32(3)
	g.u64(uint64(len(ts)))
	g.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		kv()
	}
	// Tensor infos: offsets are relative to the start of the data.
	var offset uint64
	for _, t := range ts {
		g.str(t.name)
		g.u32(uint32(len(t.shape)))
		for _, d := range t.shape {
			g.u64(d)
		}
		g.u32(0) // GGML_TYPE_F32
		g.u64(offset)
		offset = align(offset + 4*uint64(len(t.data)))
	}
	g.pad()
	for _, t := range ts {
		for _, f := range t.data {
			g.u32(math.Float32bits(f))
		}
		g.pad()
	}
	if g.err != nil {
		return g.err
	}
	return g.w.Flush()
}

// WriteFiles writes the model as tiny.gguf into dir and a Modelfile next to
// it for `ollama create`, and returns the Modelfile's path.
func WriteFiles(dir string) (string, error) {
	f, err := os.Create(filepath.Join(dir, "tiny.gguf"))
	if err != nil {
		return "", err
	}
	if err := Write(f); err != nil {
		f.Close()
		return "", fmt.Errorf("write model: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	modelfile := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(modelfile, []byte(Modelfile("./tiny.gguf")), 0o644); err != nil {
		return "", err
	}
	return modelfile, nil
}

// Modelfile is the `ollama create` recipe for the model file at path
// (relative paths are taken from the Modelfile's folder).
func Modelfile(path string) string {
	return "FROM " + path + "\nTEMPLATE \"\"\"" + Template + "\"\"\"\n"
}

func align(n uint64) uint64 { return (n + alignment - 1) / alignment * alignment }

// gguf writes little-endian GGUF values, keeping the first error.
type gguf struct {
	w       *bufio.Writer
	n       uint64 // bytes written, for padding
	err     error
	scratch [8]byte
}

func (g *gguf) raw(b []byte) {
	if g.err != nil {
		return
	}
	_, g.err = g.w.Write(b)
	g.n += uint64(len(b))
}

func (g *gguf) u32(x uint32) {
	binary.LittleEndian.PutUint32(g.scratch[:4], x)
	g.raw(g.scratch[:4])
}

func (g *gguf) u64(x uint64) {
	binary.LittleEndian.PutUint64(g.scratch[:], x)
	g.raw(g.scratch[:])
}

// str is a GGUF string: its length in bytes, then the bytes, no NUL.
func (g *gguf) str(s string) {
	g.u64(uint64(len(s)))
	g.raw([]byte(s))
}

func (g *gguf) pad() { g.raw(make([]byte, align(g.n)-g.n)) }

func (g *gguf) key(k string, typ uint32) {
	g.str(k)
	g.u32(typ)
}

func (g *gguf) kvString(k, s string)        { g.key(k, ggufString); g.str(s) }
func (g *gguf) kvUint32(k string, x uint32) { g.key(k, ggufUint32); g.u32(x) }
func (g *gguf) kvFloat32(k string, x float32) {
	g.key(k, ggufFloat32)
	g.u32(math.Float32bits(x))
}

func (g *gguf) kvBool(k string, b bool) {
	g.key(k, ggufBool)
	if b {
		g.raw([]byte{1})
	} else {
		g.raw([]byte{0})
	}
}

// array starts an array value: the element type and the count.
func (g *gguf) array(k string, elem uint32, n int) {
	g.key(k, ggufArray)
	g.u32(elem)
	g.u64(uint64(n))
}

func (g *gguf) kvStrings(k string, ss []string) {
	g.array(k, ggufString, len(ss))
	for _, s := range ss {
		g.str(s)
	}
}

func (g *gguf) kvFloat32s(k string, xs []float32) {
	g.array(k, ggufFloat32, len(xs))
	for _, x := range xs {
		g.u32(math.Float32bits(x))
	}
}

func (g *gguf) kvInt32s(k string, xs []int32) {
	g.array(k, ggufInt32, len(xs))
	for _, x := range xs {
		g.u32(uint32(x))
	}
}
