// Keeps an agent's login session alive while a page stays open, and leaves the page as
// soon as the session is ended elsewhere (logged out, replaced on the concurrent-login screen).
(() => {
  "use strict";
  const body = document.body;
  const csrf = body.dataset.csrf;
  const toLogin = () => { window.location.assign("/login/"); };

  const heartbeat = () => {
    if (document.visibilityState !== "visible") return;
    fetch("/sessions/heartbeat/", { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" })
      .then((response) => { if (response.status === 401) toLogin(); })
      .catch(() => {});
  };
  setInterval(heartbeat, 180000);

  let retry = 1000;
  let current = null;
  // Pages send their own messages (ticket watch, typing) on the same socket; dropped while
  // it is reconnecting, so pages re-send their state on the "socket.open" event.
  window.sarunaSocket = {
    send(message) {
      if (current && current.readyState === WebSocket.OPEN) current.send(JSON.stringify(message));
    },
  };
  const connect = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/agent/`);
    let ping;
    current = socket;
    socket.addEventListener("open", () => {
      retry = 1000;
      ping = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 30000);
      document.dispatchEvent(new CustomEvent("saruna:event", { detail: { type: "socket.open" } }));
    });
    socket.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "session.ended") toLogin();
      document.dispatchEvent(new CustomEvent("saruna:event", { detail: data }));
    });
    socket.addEventListener("close", (event) => {
      clearInterval(ping);
      if (event.code === 4001) return;  // ended by the server: the message above moved on
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    });
  };
  connect();
})();
