// A real A2A 1.0 agent (@a2a-js/sdk over express, JSON-RPC binding) for the
// Go tests. The Go package a2atest starts it as `node agent.mjs`; it listens
// on 127.0.0.1 on a port the system picks and prints one line
//
//   A2ATEST_LISTENING <port>
//
// once it accepts connections. It behaves like the Go 0.3 agent of the same
// package, driven by the text of the user message (see ../doc.go):
//
//   echo <text>     task completed with an artifact and a status message <text>
//   slow <n>        n "working" status updates ~100 ms apart, then completed
//   wait            stays "working" until canceled
//   fail            task failed with a status message
//   headers         task completed with a JSON text of the X-Attach-* request
//                   headers and whether an Authorization header arrived
//   message <text>  a plain Message answer, no task
//   anything else   as echo of the whole text
//
// GET /__test/headers answers the headers of the last JSON-RPC request (the
// names lower-case), so the Go side can read them without an A2A call.
import express from 'express';
import { AGENT_CARD_PATH, Role, TaskState } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, STATE_HEADERS_KEY } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const STEP_MS = 100;

let baseURL = ''; // set once the port is known
let lastHeaders = {};

function card() {
  return {
    name: 'a2atest agent 1.0',
    description: 'Test agent driven by the message text: echo, slow, wait, fail, headers, message.',
    supportedInterfaces: [{ url: baseURL, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: 'Answers with the text after "echo".',
        tags: ['test'],
        examples: ['echo hello'],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
      {
        id: 'lifecycle',
        name: 'Task lifecycle',
        description: 'slow <n>, wait, fail, headers, message <text>.',
        tags: ['test'],
        examples: ['slow 3', 'wait', 'fail'],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

function textPart(text) {
  return { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined };
}

function agentMessage(ctx, text, withTask = true) {
  return {
    messageId: crypto.randomUUID(),
    contextId: ctx.contextId,
    taskId: withTask ? ctx.taskId : '',
    role: Role.ROLE_AGENT,
    parts: [textPart(text)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

function status(ctx, state, text) {
  return AgentEvent.statusUpdate({
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    status: {
      state,
      message: text === undefined ? undefined : agentMessage(ctx, text),
      timestamp: new Date().toISOString(),
    },
    metadata: undefined,
  });
}

function artifact(ctx, name, text) {
  return AgentEvent.artifactUpdate({
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    artifact: {
      artifactId: crypto.randomUUID(),
      name,
      description: '',
      parts: [textPart(text)],
      metadata: undefined,
      extensions: [],
    },
    append: false,
    lastChunk: true,
    metadata: undefined,
  });
}

function messageText(msg) {
  return (msg?.parts ?? [])
    .filter((p) => p.content?.$case === 'text')
    .map((p) => p.content.value)
    .join('')
    .trim();
}

// The headers a test may assert on: X-Attach-* by value, Authorization only
// by presence (it carries a secret).
function reportHeaders(headers) {
  const picked = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase().startsWith('x-attach-')) {
      picked[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  const authorization = Object.keys(headers ?? {}).some((n) => n.toLowerCase() === 'authorization');
  return JSON.stringify({ authorization, headers: picked });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class TestExecutor {
  // taskId -> function that ends a waiting task; called by cancelTask.
  waiting = new Map();
  // taskId -> contextId of every task started, for the cancel event.
  contexts = new Map();
  canceled = new Set();

  async execute(requestContext, bus) {
    const ctx = { taskId: requestContext.taskId, contextId: requestContext.contextId };
    this.contexts.set(ctx.taskId, ctx.contextId);
    const text = messageText(requestContext.userMessage);
    const [command, ...rest] = text.split(/\s+/);
    const arg = text.slice(command.length).trim();

    if (command === 'message') {
      bus.publish(AgentEvent.message(agentMessage(ctx, arg, false)));
      return;
    }

    // Every task starts as submitted, with the user's message as history.
    bus.publish(
      AgentEvent.task(
        requestContext.task ?? {
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
          artifacts: [],
          history: [requestContext.userMessage],
          metadata: undefined,
        },
      ),
    );

    switch (command) {
      case 'slow': {
        const n = Number.parseInt(rest[0] ?? '1', 10) || 1;
        for (let i = 1; i <= n; i++) {
          await sleep(STEP_MS);
          if (this.canceled.has(ctx.taskId)) return;
          bus.publish(status(ctx, TaskState.TASK_STATE_WORKING, `step ${i}/${n}`));
        }
        bus.publish(artifact(ctx, 'result', `slow ${n} done`));
        bus.publish(status(ctx, TaskState.TASK_STATE_COMPLETED, 'done'));
        return;
      }
      case 'wait': {
        bus.publish(status(ctx, TaskState.TASK_STATE_WORKING, 'waiting to be canceled'));
        await new Promise((resolve) => this.waiting.set(ctx.taskId, resolve));
        return;
      }
      case 'fail':
        bus.publish(status(ctx, TaskState.TASK_STATE_FAILED, 'failed on request'));
        return;
      case 'headers': {
        const headers = requestContext.context?.state?.get(STATE_HEADERS_KEY);
        const report = reportHeaders(headers);
        bus.publish(artifact(ctx, 'headers', report));
        bus.publish(status(ctx, TaskState.TASK_STATE_COMPLETED, report));
        return;
      }
      default: {
        const echoed = command === 'echo' ? arg : text;
        bus.publish(status(ctx, TaskState.TASK_STATE_WORKING, undefined));
        bus.publish(artifact(ctx, 'echo', echoed));
        bus.publish(status(ctx, TaskState.TASK_STATE_COMPLETED, echoed));
      }
    }
  }

  async cancelTask(taskId, bus) {
    this.canceled.add(taskId);
    const release = this.waiting.get(taskId);
    this.waiting.delete(taskId);
    const ctx = { taskId, contextId: this.contexts.get(taskId) ?? '' };
    bus.publish(status(ctx, TaskState.TASK_STATE_CANCELED, 'canceled'));
    release?.();
  }
}

const handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), new TestExecutor());
// The card's interface URL is only known once listening; the handler reads
// the card through getAgentCard, so serve the live one.
handler.getAgentCard = async () => card();

const app = express();
app.get('/__test/headers', (req, res) => res.json(lastHeaders));
app.use((req, res, next) => {
  if (req.method === 'POST') lastHeaders = { ...req.headers };
  next();
});
app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: async () => card() }));
app.use('/', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  baseURL = `http://127.0.0.1:${port}`;
  console.log(`A2ATEST_LISTENING ${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
  });
}
