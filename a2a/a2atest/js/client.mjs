// A real A2A 1.0 client (@a2a-js/sdk, JSON-RPC binding) for the Go tests.
// The Go package a2atest runs `node client.mjs '<spec JSON>'` with one
// operation to perform:
//
//   {"baseURL": "http://127.0.0.1:PORT/...",   agent base URL; the card is
//                                              read from <baseURL>/.well-known/agent-card.json
//    "bearer": "token",                        optional; sent as Authorization: Bearer
//                                              on every request, the card's too
//    "headers": {"Name": "value"},             optional extra request headers
//                                              (with steps: for the card; each
//                                              step has its own)
//    "op": "send" | "send-nonblocking" | "stream" | "get" | "cancel" |
//          "subscribe" | "list" | "card",
//    "text": "echo hi",                        user message text (send*, stream)
//    "taskId": "...", "contextId": "...",      task to continue (send*, stream),
//                                              or to act on (get, cancel, subscribe)
//    "historyLength": 2,                       optional (get)
//    "timeoutMs": 20000}                       optional, for all steps; default 20 s
//
// or several operations, done one after the other by the same client, with
// "steps": [{"op": ..., "text": ..., "taskId": ...}, ...] in place of the
// operation's fields. A step's taskId "$task" stands for the last task id
// an earlier step saw (in a result or an event).
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
// (for steps: {"steps": [one such object per step]}) and exits 0, or exits
// 2 on a malformed spec.
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
if (!spec.baseURL || !(spec.op || spec.steps)) {
  console.error('client.mjs: baseURL and op (or steps) are required');
  process.exit(2);
}

// Every request, the card's included, carries the caller's credentials, as
// a client behind a gateway would send them, and the extra headers of the
// step being done (the top-level ones while the card is read).
let stepHeaders = { ...(spec.headers ?? {}) };
const fetchWithHeaders = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  for (const [name, value] of Object.entries(stepHeaders)) headers.set(name, value);
  if (spec.bearer) headers.set('Authorization', `Bearer ${spec.bearer}`);
  return fetch(input, { ...init, headers });
};

const signal = AbortSignal.timeout(spec.timeoutMs ?? 20000);

// The id of the last task a step saw, for a later step's taskId "$task".
let lastTaskId = '';

function noteTask(json) {
  const task = json?.task ?? json?.statusUpdate ?? json?.artifactUpdate ?? json;
  const id = task?.id && task?.status ? task.id : task?.taskId;
  if (id) lastTaskId = id;
}

function userMessage(step) {
  return {
    messageId: crypto.randomUUID(),
    role: 'ROLE_USER',
    parts: [{ text: step.text ?? '' }],
    ...(step.taskId ? { taskId: step.taskId } : {}),
    ...(step.contextId ? { contextId: step.contextId } : {}),
  };
}

// run performs one step and answers its output object.
async function run(client, step) {
  const out = {};
  const options = { signal };
  if (step.taskId === '$task') step = { ...step, taskId: lastTaskId };
  try {
    switch (step.op) {
      case 'send':
      case 'send-nonblocking': {
        const req = { message: userMessage(step) };
        if (step.op === 'send-nonblocking') req.configuration = { returnImmediately: true };
        const result = await client.sendMessage(SendMessageRequest.fromJSON(req), options);
        const payload = 'messageId' in result ? { $case: 'message', value: result } : { $case: 'task', value: result };
        out.result = SendMessageResponse.toJSON({ payload });
        break;
      }
      case 'stream':
      case 'subscribe': {
        out.events = [];
        const events =
          step.op === 'stream'
            ? client.sendMessageStream(SendMessageRequest.fromJSON({ message: userMessage(step) }), options)
            : client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: step.taskId }), options);
        for await (const event of events) {
          const json = StreamResponse.toJSON(event);
          noteTask(json);
          out.events.push(json);
        }
        break;
      }
      case 'get': {
        const req = { id: step.taskId };
        if (step.historyLength !== undefined) req.historyLength = step.historyLength;
        out.result = Task.toJSON(await client.getTask(GetTaskRequest.fromJSON(req), options));
        break;
      }
      case 'cancel':
        out.result = Task.toJSON(await client.cancelTask(CancelTaskRequest.fromJSON({ id: step.taskId }), options));
        break;
      case 'list':
        out.result = ListTasksResponse.toJSON(
          await client.listTasks(ListTasksRequest.fromJSON(step.contextId ? { contextId: step.contextId } : {}), options),
        );
        break;
      case 'card':
        out.result = AgentCard.toJSON(await client.getAgentCard(options));
        break;
      default:
        throw new Error(`unknown op ${step.op}`);
    }
  } catch (err) {
    out.error = { name: err?.name ?? 'Error', message: err?.message ?? String(err) };
    if (err?.code !== undefined) out.error.code = err.code;
  }
  noteTask(out.result);
  return out;
}

const steps = spec.steps ?? [spec];
const outs = [];
try {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: fetchWithHeaders })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetchWithHeaders }),
    }),
  );
  // The SDK resolves the card path relative to the base URL, which drops
  // the base's last path segment unless it ends in a slash; a base such as
  // http://host/t/team/a2a/agent must keep all of it.
  const base = spec.baseURL.endsWith('/') ? spec.baseURL : `${spec.baseURL}/`;
  const client = await factory.createFromUrl(base);
  for (const step of steps) {
    stepHeaders = { ...(step.headers ?? {}) };
    outs.push(await run(client, step));
  }
} catch (err) {
  // The card could not be read or no transport fits: every step fails so.
  const error = { name: err?.name ?? 'Error', message: err?.message ?? String(err) };
  while (outs.length < steps.length) outs.push({ error });
}

const out = spec.steps ? { steps: outs } : outs[0];
process.stdout.write(JSON.stringify(out) + '\n');
