// Attach Gateway console: small additions to pages that work without
// script. Copy buttons, engine "Test" results in place, and "Try it" run
// from the browser. Text from the server is only ever set as textContent.
"use strict";

(function () {
  const csrf = () => {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  };

  // el builds an element with text content and optional class.
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  // postJSON posts to a console endpoint with the session's CSRF token and
  // returns the decoded answer, throwing the server's message on failure.
  async function postJSON(url) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      credentials: "same-origin",
    });
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      throw new Error((body && body.error && body.error.message) || ("request failed: " + res.status));
    }
    return body;
  }

  // --- copy buttons -------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http: select the text in a scratch field and copy it.
    const ta = el("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "sr-only";
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("button[data-copy]").forEach((btn) => {
    btn.hidden = false;
    const label = btn.textContent;
    btn.addEventListener("click", () => {
      const target = document.getElementById(btn.dataset.copy);
      if (!target) return;
      copyText(target.textContent).then(() => {
        btn.textContent = "Copied";
        btn.classList.add("done");
      }, () => {
        btn.textContent = "Select and copy by hand";
      }).finally(() => {
        setTimeout(() => { btn.textContent = label; btn.classList.remove("done"); }, 2000);
      });
    });
  });

  // --- engine "Test" in place --------------------------------------------
  // modelCheck adds to a Test result the configured models the engine does
  // not serve, and a plain form that imports the ones it serves.
  function modelCheck(box, r) {
    if (r.missing && r.missing.length) {
      const p = el("p");
      p.dataset.testid = "models-missing";
      p.append(el("strong", "Not served by the engine:"), " " + r.missing.join(", ") + ". Requests for these models will fail at the engine.");
      box.append(p);
    }
    if (r.import_url && r.importable && r.importable.length) {
      const form = el("form", undefined, "inline");
      form.method = "post";
      form.action = r.import_url;
      form.dataset.testid = "import-models";
      const token = el("input");
      token.type = "hidden";
      token.name = "csrf";
      token.value = csrf();
      const n = r.importable.length;
      const button = el("button", "Import " + n + (n === 1 ? " model" : " models"), "small");
      button.type = "submit";
      form.append(token, el("p", "Served but not in this engine's list: " + r.importable.join(", ") + "."), button);
      box.append(form);
    }
  }

  document.querySelectorAll("form[data-inline-test]").forEach((form) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = form.dataset.inlineTest;
      const out = document.getElementById(id);
      const row = document.querySelector('[data-result-row="' + id + '"]');
      if (!out) { form.submit(); return; }
      if (row) row.hidden = false;
      const button = form.querySelector("button");
      button.disabled = true;
      out.replaceChildren(el("span", "Testing…", "muted"));
      try {
        const r = await postJSON(form.action);
        const box = el("div", undefined, "result ok");
        box.dataset.testid = "test-result";
        const p = el("p");
        p.append(el("strong", "Reachable"), " in " + r.rtt_ms + " ms. ");
        p.append(r.models.length ? "Models: " + r.models.join(", ") : "It lists no models.");
        box.append(p);
        modelCheck(box, r);
        out.replaceChildren(box);
      } catch (err) {
        const box = el("div", undefined, "result bad");
        box.dataset.testid = "test-result";
        box.setAttribute("role", "alert");
        const p = el("p");
        p.append(el("strong", "Not reachable:"), " " + err.message);
        box.append(p);
        out.replaceChildren(box);
      } finally {
        button.disabled = false;
      }
    });
  });

  // --- "Try it" from the browser -----------------------------------------
  const tryForm = document.getElementById("try-form");
  if (tryForm) {
    const result = document.getElementById("try-result");
    tryForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const model = tryForm.elements.model.value.trim();
      const message = tryForm.elements.message.value.trim();
      if (!model || !message) { tryForm.submit(); return; } // the server explains
      const button = document.getElementById("try-send");
      button.disabled = true;
      result.replaceChildren(el("p", "Waiting for the engine…", "muted"));
      try {
        const tok = await postJSON(tryForm.dataset.try);
        const res = await fetch(tryForm.dataset.chat, {
          method: "POST",
          headers: { "Authorization": "Bearer " + tok.token, "Content-Type": "application/json" },
          credentials: "omit",
          body: JSON.stringify({ model: model, messages: [{ role: "user", content: message }], stream: false }),
        });
        const session = res.headers.get("X-Attach-Session-Id") || "—";
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          const msg = (body.error && (body.error.message || body.error)) || "no details";
          throw new Error("The gateway answered " + res.status + ": " + msg);
        }
        const box = el("div", undefined, "result ok");
        box.dataset.testid = "try-result";
        const answer = el("p", (body.message && body.message.content) || "", "answer");
        answer.dataset.testid = "try-answer";
        const sid = el("span", session, "mono");
        sid.dataset.testid = "try-session";
        const hint = el("p", "X-Attach-Session-Id: ", "hint");
        hint.append(sid);
        box.append(answer, hint);
        result.replaceChildren(box);
      } catch (err) {
        const box = el("div", undefined, "result bad");
        box.dataset.testid = "try-result";
        box.setAttribute("role", "alert");
        box.append(el("p", err.message));
        result.replaceChildren(box);
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- narrow screens: current tab in view, tables that scroll ------------
  // On a narrow screen the team's sections are a row that scrolls sideways;
  // bring the current one into view, centred where the row allows.
  const navList = document.querySelector(".sidenav ul");
  const current = navList && navList.querySelector('a[aria-current="page"]');
  if (current && navList.scrollWidth > navList.clientWidth) {
    const list = navList.getBoundingClientRect();
    const tab = current.getBoundingClientRect();
    navList.scrollLeft += tab.left - list.left - (navList.clientWidth - tab.width) / 2;
  }

  // A table wider than its box gets a caption saying it scrolls, kept up to
  // date as the window changes size.
  const wraps = document.querySelectorAll(".table-wrap");
  const hintTables = () => {
    wraps.forEach((wrap) => {
      const table = wrap.querySelector("table");
      if (!table) return;
      let hint = wrap.previousElementSibling;
      if (!hint || !hint.classList.contains("scroll-hint")) {
        hint = el("p", "Scroll sideways for more →", "scroll-hint");
        hint.dataset.scrollHint = table.id;
        hint.setAttribute("aria-hidden", "true");
        wrap.before(hint);
      }
      hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
    });
  };
  if (wraps.length) {
    hintTables();
    // A confirmation opened in a row brings itself into view, as it may
    // open past the table's visible edge.
    document.querySelectorAll(".table-wrap details").forEach((d) => {
      d.addEventListener("toggle", () => {
        if (d.open) d.scrollIntoView({ block: "nearest", inline: "nearest" });
      });
    });
    if (window.ResizeObserver) {
      const ro = new ResizeObserver(hintTables);
      wraps.forEach((wrap) => ro.observe(wrap));
    }
  }

  // --- team switcher: Escape and a click elsewhere close it ---------------
  const switcher = document.getElementById("team-switcher");
  if (switcher) {
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && switcher.open) {
        switcher.open = false;
        switcher.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", (ev) => {
      if (switcher.open && !switcher.contains(ev.target)) switcher.open = false;
    });
  }
})();
