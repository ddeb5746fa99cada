// Attach Gateway demo chat: streams a conversation through the team's
// gateway (/t/TEAM/api/chat, Ollama NDJSON) with a short-lived token minted
// for the signed-in user, and shows the identity the engine was given. Each
// chat sends its own Attach-Session-Key, so "New chat" starts a new session
// at the gateway (and in the team's memory).
"use strict";

(function () {
  const root = document.getElementById("chat");
  if (!root) return;

  const form = document.getElementById("chat-form");
  const log = document.getElementById("chat-log");
  const input = document.getElementById("chat-input");
  const model = document.getElementById("chat-model");
  const send = document.getElementById("chat-send");
  const stop = document.getElementById("chat-stop");
  const clear = document.getElementById("chat-clear");
  const errorBox = document.getElementById("chat-error");
  const shown = {
    user: document.getElementById("chat-subject"),
    tenant: document.getElementById("chat-tenant"),
    session: document.getElementById("chat-session"),
  };

  const csrf = () => {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  };

  let token = null; // { token, expires_at, user, tenant }
  let history = [];
  let running = null; // AbortController of the answer being streamed

  // newSessionKey is a random label for one chat: the gateway derives the
  // session from it, the user and the browser. getRandomValues works on
  // plain http too, where randomUUID does not.
  function newSessionKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "chat-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  let sessionKey = newSessionKey();

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = !msg;
  }

  // mint asks the console for a fresh token when there is none or it is
  // about to run out.
  async function mint(force) {
    const soon = Date.now() + 30 * 1000;
    if (!force && token && Date.parse(token.expires_at) > soon) return token;
    const res = await fetch(root.dataset.tokenUrl, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      credentials: "same-origin",
    });
    const body = await res.json().catch(() => null);
    if (!res.ok || !body) {
      throw new Error((body && body.error && body.error.message) || "could not get a token: " + res.status);
    }
    token = body;
    shown.user.textContent = body.user || "—";
    shown.tenant.textContent = body.tenant || "—";
    return token;
  }

  function bubble(role, text) {
    const div = document.createElement("div");
    div.className = "msg " + role;
    div.dataset.testid = "msg-" + role;
    const label = document.createElement("span");
    label.className = "who-label";
    label.textContent = role === "user" ? "You" : role === "assistant" ? "Engine" : "Error";
    const body = document.createElement("span");
    body.className = "msg-text";
    body.textContent = text;
    div.append(label, body);
    log.append(div);
    log.scrollTop = log.scrollHeight;
    return body;
  }

  function busy(on) {
    send.disabled = on;
    stop.disabled = !on;
    input.readOnly = on;
  }

  // call posts the conversation and returns the streaming response, minting
  // a new token once if the gateway refuses the current one.
  async function call(signal) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const t = await mint(attempt > 0);
      const res = await fetch(root.dataset.chatUrl, {
        method: "POST",
        headers: { "Authorization": "Bearer " + t.token, "Content-Type": "application/json", "Attach-Session-Key": sessionKey },
        credentials: "omit",
        body: JSON.stringify({ model: model.value.trim(), messages: history, stream: true }),
        signal: signal,
      });
      if (res.status === 401 && attempt === 0) continue;
      return res;
    }
  }

  async function ask(text) {
    showError("");
    history.push({ role: "user", content: text });
    bubble("user", text);
    const out = bubble("assistant", "");
    let answer = "";
    running = new AbortController();
    busy(true);
    try {
      const res = await call(running.signal);
      const session = res.headers.get("X-Attach-Session-Id");
      if (session) shown.session.textContent = session;
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        const msg = (body.error && (body.error.message || body.error)) || "no details";
        throw new Error("The gateway answered " + res.status + ": " + msg);
      }
      // NDJSON: one JSON object a line; a read may end mid-line.
      const take = (line) => {
        line = line.trim();
        if (!line) return;
        const chunk = JSON.parse(line);
        if (chunk.error) throw new Error(typeof chunk.error === "string" ? chunk.error : chunk.error.message);
        if (chunk.message && chunk.message.content) {
          answer += chunk.message.content;
          out.textContent = answer;
          log.scrollTop = log.scrollHeight;
        }
      };
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          take(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      }
      take(buffered + decoder.decode());
      history.push({ role: "assistant", content: answer });
    } catch (err) {
      if (err.name === "AbortError") {
        if (answer) history.push({ role: "assistant", content: answer });
        out.textContent = answer + " [stopped]";
      } else {
        history.pop(); // the question goes unanswered; it can be asked again
        out.parentElement.remove();
        bubble("error", err.message);
      }
    } finally {
      running = null;
      busy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!model.value.trim()) { showError("Choose a model first."); model.focus(); return; }
    if (!text || running) return;
    input.value = "";
    ask(text);
  });

  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  stop.addEventListener("click", () => { if (running) running.abort(); });

  clear.addEventListener("click", () => {
    if (running) running.abort();
    history = [];
    sessionKey = newSessionKey();
    log.replaceChildren();
    shown.session.textContent = "—";
    showError("");
    input.focus();
  });

  // Show who the engine will see before the first message.
  mint(false).catch((err) => showError(err.message));

  // The hand-off: the message goes to one of the team's agents as an A2A
  // 0.3 message/stream through the gateway, with the same token. The first
  // event names the task; the console's live view of it follows the task
  // while the stream is read to its end (so the gateway records each event
  // as it arrives).
  const handoff = document.getElementById("handoff-form");
  if (!handoff) return;
  const section = document.getElementById("handoff");
  const agentBox = document.getElementById("handoff-agent");
  const handoffInput = document.getElementById("handoff-input");
  const handoffSend = document.getElementById("handoff-send");
  const handoffError = document.getElementById("handoff-error");
  const handoffStatus = document.getElementById("handoff-status");
  const handoffView = document.getElementById("handoff-view");

  function handoffProblem(msg) {
    handoffError.textContent = msg;
    handoffError.hidden = !msg;
  }

  // taskOf is the agent's task id an A2A 0.3 result or stream event names.
  function taskOf(result) {
    if (!result) return "";
    if (result.kind === "task") return result.id || "";
    return result.taskId || "";
  }

  // showTask puts the task's live view under the form.
  async function showTask(agent, taskID) {
    const url = section.dataset.findUrl + "?agent=" + encodeURIComponent(agent) + "&task=" + encodeURIComponent(taskID);
    const res = await fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
    const found = await res.json().catch(() => null);
    if (!res.ok || !found) throw new Error("the console could not find the task: " + res.status);
    const link = document.createElement("a");
    link.href = found.url;
    link.id = "handoff-task-link";
    link.textContent = "Open the task page";
    const view = document.createElement("div");
    view.id = "handoff-live";
    view.dataset.liveUrl = found.live;
    view.dataset.running = "true";
    handoffView.replaceChildren(link, view);
    if (window.attachFollowTask) window.attachFollowTask(view);
  }

  // readEvents calls each(event) for every SSE data line of res.
  async function readEvents(res, each) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const take = async (block) => {
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (data) await each(JSON.parse(data));
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        await take(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
      }
    }
    await take(buffered + decoder.decode());
  }

  async function handOff(agent, text) {
    handoffProblem("");
    handoffView.replaceChildren();
    handoffStatus.textContent = "Sending to " + agent + "…";
    handoffSend.disabled = true;
    try {
      const t = await mint(false);
      const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
      const res = await fetch(section.dataset.a2aUrl + encodeURIComponent(agent), {
        method: "POST",
        headers: {
          "Authorization": "Bearer " + t.token, "Content-Type": "application/json", "Accept": "text/event-stream",
          "Attach-Session-Key": sessionKey,
        },
        credentials: "omit",
        body: JSON.stringify({
          jsonrpc: "2.0", id: id, method: "message/stream",
          params: { message: { kind: "message", messageId: id, role: "user", parts: [{ kind: "text", text: text }] } },
        }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error("The gateway answered " + res.status + ": " + ((body.error && body.error.message) || "no details"));
      }
      let shown = false;
      const each = async (ev) => {
        if (ev.error) throw new Error("The agent answered: " + (ev.error.message || "an error"));
        const r = ev.result;
        if (r && r.kind === "message") {
          handoffStatus.textContent = agent + " answered: " + (r.parts || []).map((p) => p.text || "").join(" ");
          return;
        }
        const task = taskOf(r);
        if (task && !shown) {
          shown = true;
          handoffStatus.textContent = agent + " took the task.";
          await showTask(agent, task);
        }
      };
      if ((res.headers.get("Content-Type") || "").includes("text/event-stream")) {
        await readEvents(res, each);
      } else {
        await each(await res.json());
      }
      if (shown) handoffStatus.textContent = agent + "'s task has ended; its story is below.";
    } catch (err) {
      handoffStatus.textContent = "";
      handoffProblem(err.message);
    } finally {
      handoffSend.disabled = false;
    }
  }

  handoff.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = handoffInput.value.trim();
    if (!text || handoffSend.disabled) return;
    handOff(agentBox.value, text);
  });
})();
