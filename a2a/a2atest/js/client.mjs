// A real A2A 1.0 client (@a2a-js/sdk, JSON-RPC binding) for the Go tests.
// The Go package a2atest runs `node client.mjs '<spec JSON>'` with one
// operation to perform:
//
//   {"baseURL": "http://127.0.0.1:PORT/...",   agent base URL; the card is
//                                              read from <baseURL>/.well-known/agent-card.json
//    "bearer": "token",                        optional; sent as Authorization: Bearer
//                                              on every request, the card's too
//    "headers": {"Name": "value"},             optional extra request headers
//    "op": "send" | "send-nonblocking" | "stream" | "get" | "cancel" |
//          "subscribe" | "list" | "card",
//    "text": "echo hi",                        user message text (send*, stream)
//    "taskId": "...", "contextId": "...",      task to continue (send*, stream),
//                                              or to act on (get, cancel, subscribe)
//    "historyLength": 2,                       optional (get)
//    "timeoutMs": 20000}                       optional; default 20 s
//
// It prints one JSON object on stdout, in A2A 1.0 wire form (protobuf JSON):
//
//   {"result": {...}}      send*: {"task": ...} or {"message": ...};
//                          get, cancel: the Task; list: ListTasksResponse;
//                          card: the AgentCard as the client normalized it
//   {"events": [...]}      stream, subscribe: each StreamResponse in order
//   {"error": {"name", "message", "code"}}   the client's error, when the
//                          operation failed (events received before stay)
//
// and exits 0, or exits 2 on a malformed spec.
import {
  CancelTaskRequest,
  GetTaskRequest,
  ListTasksRequest,
  ListTasksResponse,
  SendMessageRequest,
  SendMessageResponse,
  StreamResponse,
  SubscribeToTaskRequest,
  Task,
  AgentCard,
} from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';

let spec;
try {
  spec = JSON.parse(process.argv[2] ?? '');
} catch (err) {
  console.error(`client.mjs: the argument must be a JSON spec: ${err.message}`);
  process.exit(2);
}
if (!spec.baseURL || !spec.op) {
  console.error('client.mjs: baseURL and op are required');
  process.exit(2);
}

// Every request, the card's included, carries the caller's credentials, as
// a client behind a gateway would send them.
const extraHeaders = { ...(spec.headers ?? {}) };
if (spec.bearer) extraHeaders.Authorization = `Bearer ${spec.bearer}`;
const fetchWithHeaders = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  return fetch(input, { ...init, headers });
};

const out = {};
const signal = AbortSignal.timeout(spec.timeoutMs ?? 20000);

function userMessage() {
  return {
    messageId: crypto.randomUUID(),
    role: 'ROLE_USER',
    parts: [{ text: spec.text ?? '' }],
    ...(spec.taskId ? { taskId: spec.taskId } : {}),
    ...(spec.contextId ? { contextId: spec.contextId } : {}),
  };
}

try {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: fetchWithHeaders })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetchWithHeaders }),
      clientConfig: { polling: spec.op === 'send-nonblocking' },
    }),
  );
  // The SDK resolves the card path relative to the base URL, which drops
  // the base's last path segment unless it ends in a slash; a base such as
  // http://host/t/team/a2a/agent must keep all of it.
  const base = spec.baseURL.endsWith('/') ? spec.baseURL : `${spec.baseURL}/`;
  const client = await factory.createFromUrl(base);
  const options = { signal };

  switch (spec.op) {
    case 'send':
    case 'send-nonblocking': {
      const result = await client.sendMessage(SendMessageRequest.fromJSON({ message: userMessage() }), options);
      const payload = 'messageId' in result ? { $case: 'message', value: result } : { $case: 'task', value: result };
      out.result = SendMessageResponse.toJSON({ payload });
      break;
    }
    case 'stream':
      out.events = [];
      for await (const event of client.sendMessageStream(SendMessageRequest.fromJSON({ message: userMessage() }), options)) {
        out.events.push(StreamResponse.toJSON(event));
      }
      break;
    case 'subscribe':
      out.events = [];
      for await (const event of client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: spec.taskId }), options)) {
        out.events.push(StreamResponse.toJSON(event));
      }
      break;
    case 'get': {
      const req = { id: spec.taskId };
      if (spec.historyLength !== undefined) req.historyLength = spec.historyLength;
      out.result = Task.toJSON(await client.getTask(GetTaskRequest.fromJSON(req), options));
      break;
    }
    case 'cancel':
      out.result = Task.toJSON(await client.cancelTask(CancelTaskRequest.fromJSON({ id: spec.taskId }), options));
      break;
    case 'list':
      out.result = ListTasksResponse.toJSON(
        await client.listTasks(ListTasksRequest.fromJSON(spec.contextId ? { contextId: spec.contextId } : {}), options),
      );
      break;
    case 'card':
      out.result = AgentCard.toJSON(await client.getAgentCard(options));
      break;
    default:
      console.error(`client.mjs: unknown op ${spec.op}`);
      process.exit(2);
  }
} catch (err) {
  out.error = { name: err?.name ?? 'Error', message: err?.message ?? String(err) };
  if (err?.code !== undefined) out.error.code = err.code;
}

process.stdout.write(JSON.stringify(out) + '\n');
