// Attach Gateway console: follows a running A2A task. A view with
// data-live-url (the task page's, or the one the demo chat page adds for a
// hand-off) is replaced each second by the server's rendering of the task's
// tree and story, until the task reaches a final state.
"use strict";

(function () {
  const interval = 1000;

  // follow polls the view's live URL while the task runs. The markup comes
  // from the console, rendered and escaped on the server.
  function follow(view) {
    if (view.dataset.following) return;
    view.dataset.following = "true";
    let misses = 0;
    const tick = async () => {
      if (!view.isConnected) return; // the view was removed (a new chat)
      try {
        const res = await fetch(view.dataset.liveUrl, {
          headers: { "Accept": "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        // Gone, or no longer yours to see (signed out elsewhere): stop.
        if (res.status >= 400 && res.status < 500) return;
        if (!res.ok) throw new Error("status " + res.status);
        const body = await res.json();
        view.innerHTML = body.html;
        view.dataset.state = body.state;
        misses = 0;
        if (body.terminal) {
          delete view.dataset.running;
          return;
        }
      } catch (err) {
        // A missed poll (a restart, a network blip) is tried again, with
        // longer waits, so a page left open does not hammer the gateway.
        misses++;
      }
      setTimeout(tick, interval * Math.min(1 + misses, 10));
    };
    tick();
  }

  window.attachFollowTask = follow;
  document.querySelectorAll("[data-live-url][data-running]").forEach(follow);
})();
