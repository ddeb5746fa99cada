// The real Ollama client (ollama-js) and the real OpenAI client
// (openai-node), driven by the gateway's dialect tests. CLIENT=ollama or
// openai calls BASE (a gateway URL: the client's host, or for OpenAI its
// base URL without /v1) with TOKEN as bearer token and MODEL: chat,
// generate (completions) and embeddings, whole and streamed. It prints one
// JSON object: per case what the client read, or the error it raised.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const base = env('BASE').replace(/\/$/, '');
const token = env('TOKEN');
const model = env('MODEL');
const client = env('CLIENT');

// run records one case: fn returns what was read; an error is kept as text.
const out = {};
async function run(name, fn) {
  try {
    out[name] = await fn();
  } catch (err) {
    out[name] = { error: String(err?.message ?? err), status: err?.status ?? err?.status_code ?? 0 };
  }
}

async function ollamaCases() {
  const ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${token}` } });
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something.' }];
  const options = { temperature: 0, num_predict: 64, seed: 7 };
  await run('chat', async () => {
    const r = await ollama.chat({ model, messages, stream: false, options });
    return { text: r.message.content, role: r.message.role, model: r.model, done: r.done, doneReason: r.done_reason,
      promptTokens: r.prompt_eval_count ?? null, evalTokens: r.eval_count ?? null, chunks: 1 };
  });
  await run('chat_stream', async () => {
    const s = await ollama.chat({ model, messages, stream: true, options });
    const res = { text: '', chunks: 0, done: false };
    for await (const part of s) {
      res.chunks++;
      res.text += part.message?.content ?? '';
      res.model ??= part.model;
      if (part.done) {
        Object.assign(res, { done: true, doneReason: part.done_reason, promptTokens: part.prompt_eval_count ?? null, evalTokens: part.eval_count ?? null });
      }
    }
    return res;
  });
  await run('generate', async () => {
    const r = await ollama.generate({ model, prompt: 'Say something.', system: 'Be brief.', stream: false, options });
    return { text: r.response, model: r.model, done: r.done, doneReason: r.done_reason,
      promptTokens: r.prompt_eval_count ?? null, evalTokens: r.eval_count ?? null, chunks: 1 };
  });
  await run('generate_stream', async () => {
    const s = await ollama.generate({ model, prompt: 'Say something.', stream: true, options });
    const res = { text: '', chunks: 0, done: false };
    for await (const part of s) {
      res.chunks++;
      res.text += part.response ?? '';
      res.model ??= part.model;
      if (part.done) {
        Object.assign(res, { done: true, doneReason: part.done_reason, promptTokens: part.prompt_eval_count ?? null, evalTokens: part.eval_count ?? null });
      }
    }
    return res;
  });
  await run('embed', async () => {
    const r = await ollama.embed({ model, input: ['first text', 'second text'] });
    return { count: r.embeddings.length, dims: r.embeddings[0]?.length ?? 0, model: r.model, promptTokens: r.prompt_eval_count ?? null };
  });
  await run('embeddings', async () => {
    const r = await ollama.embeddings({ model, prompt: 'one text' });
    return { count: 1, dims: r.embedding.length };
  });
  await run('unknown_model', async () => {
    const r = await ollama.chat({ model: 'no-such-model', messages, stream: false });
    return { text: r.message.content };
  });
  await run('unknown_model_stream', async () => {
    const s = await ollama.chat({ model: 'no-such-model', messages, stream: true });
    const res = { text: '' };
    for await (const part of s) res.text += part.message?.content ?? '';
    return res;
  });
}

async function openaiCases() {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0 });
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something.' }];
  await run('chat', async () => {
    const r = await openai.chat.completions.create({ model, messages, temperature: 0, max_tokens: 64 });
    return { text: r.choices[0].message.content, role: r.choices[0].message.role, model: r.model, done: true,
      doneReason: r.choices[0].finish_reason, promptTokens: r.usage?.prompt_tokens ?? null, evalTokens: r.usage?.completion_tokens ?? null, chunks: 1 };
  });
  await run('chat_stream', async () => {
    const s = await openai.chat.completions.create({ model, messages, max_tokens: 64, stream: true, stream_options: { include_usage: true } });
    const res = { text: '', chunks: 0, done: false };
    for await (const part of s) {
      res.chunks++;
      res.model ??= part.model;
      const c = part.choices?.[0];
      res.text += c?.delta?.content ?? '';
      if (c?.finish_reason) Object.assign(res, { done: true, doneReason: c.finish_reason });
      if (part.usage) Object.assign(res, { promptTokens: part.usage.prompt_tokens, evalTokens: part.usage.completion_tokens });
    }
    return res;
  });
  await run('generate', async () => {
    const r = await openai.completions.create({ model, prompt: 'Say something.', max_tokens: 64 });
    return { text: r.choices[0].text, model: r.model, done: true, doneReason: r.choices[0].finish_reason,
      promptTokens: r.usage?.prompt_tokens ?? null, evalTokens: r.usage?.completion_tokens ?? null, chunks: 1 };
  });
  await run('generate_stream', async () => {
    const s = await openai.completions.create({ model, prompt: 'Say something.', max_tokens: 64, stream: true, stream_options: { include_usage: true } });
    const res = { text: '', chunks: 0, done: false };
    for await (const part of s) {
      res.chunks++;
      res.model ??= part.model;
      const c = part.choices?.[0];
      res.text += c?.text ?? '';
      if (c?.finish_reason) Object.assign(res, { done: true, doneReason: c.finish_reason });
      if (part.usage) Object.assign(res, { promptTokens: part.usage.prompt_tokens, evalTokens: part.usage.completion_tokens });
    }
    return res;
  });
  await run('embed', async () => {
    const r = await openai.embeddings.create({ model, input: ['first text', 'second text'], encoding_format: 'float' });
    return { count: r.data.length, dims: r.data[0]?.embedding.length ?? 0, model: r.model, promptTokens: r.usage?.prompt_tokens ?? null };
  });
  await run('unknown_model', async () => {
    const r = await openai.chat.completions.create({ model: 'no-such-model', messages });
    return { text: r.choices[0].message.content };
  });
  await run('unknown_model_stream', async () => {
    const s = await openai.chat.completions.create({ model: 'no-such-model', messages, stream: true });
    const res = { text: '' };
    for await (const part of s) res.text += part.choices?.[0]?.delta?.content ?? '';
    return res;
  });
}

try {
  if (client === 'ollama') await ollamaCases();
  else if (client === 'openai') await openaiCases();
  else throw new Error(`CLIENT must be ollama or openai, not ${client}`);
} catch (err) {
  out.error = String(err?.message ?? err);
}
process.stdout.write(JSON.stringify(out) + '\n');
