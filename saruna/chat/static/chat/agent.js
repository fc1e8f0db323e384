// On every agent page: the agent's chat socket (docs/chat.md). It keeps the agent "there" for
// routing, rings in every open tab (a sound, the tab's title and, away from the chat screen,
// a notice with Accept), and hands every frame to the page as a "saruna:chat" event; the chat
// screen (desk.js) sends its own frames with window.sarunaChat.send.
(() => {
  "use strict";
  const nav = document.getElementById("chat-nav");
  if (!nav) return;
  const S = nav.dataset;  // its translated texts
  const onDesk = () => Boolean(document.getElementById("chat-desk"));
  let socket = null;
  let retry = 1000;
  const send = (frame) => {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  };
  window.sarunaChat = { send, connected: () => Boolean(socket && socket.readyState === WebSocket.OPEN) };
  const dispatch = (detail) => document.dispatchEvent(new CustomEvent("saruna:chat", { detail }));

  // --- ringing -----------------------------------------------------------------------------
  const rings = new Map();  // chat id -> ring
  const acceptedHere = new Set();
  let audio = null;
  let beeper = null;
  const beep = () => {
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      for (const [offset, pitch] of [[0, 880], [0.18, 660]]) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = pitch;
        gain.gain.setValueAtTime(0.15, audio.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + offset + 0.16);
        tone.connect(gain).connect(audio.destination);
        tone.start(audio.currentTime + offset);
        tone.stop(audio.currentTime + offset + 0.17);
      }
    } catch (error) { /* no audio in this browser: the notice and the title still show */ }
  };
  const title = document.title;
  const ringing = () => {
    const count = rings.size;
    nav.querySelector(".chat-count").textContent = count ? String(count) : "";
    nav.classList.toggle("ringing", count > 0);
    document.title = count ? `(${count}) ${S.incoming} · ${title}` : title;
    if (count && !beeper) { beep(); beeper = setInterval(beep, 2500); }
    if (!count && beeper) { clearInterval(beeper); beeper = null; }
    if (!onDesk()) showNotice();
  };

  const notice = document.getElementById("chat-ring-notice");
  const showNotice = () => {
    notice.replaceChildren();
    notice.hidden = rings.size === 0;
    for (const ring of rings.values()) {
      const chat = ring.chat;
      const item = document.createElement("div");
      item.className = "chat-ring";
      const text = document.createElement("p");
      const purpose = { transfer: S.purposeTransfer, invite: S.purposeInvite }[ring.purpose] || S.purposeRoute;
      text.textContent = `${purpose}: ${chat.visitor.name} · ${chat.department.name}`;
      const accept = document.createElement("button");
      accept.type = "button";
      accept.textContent = S.accept;
      accept.addEventListener("click", () => {
        acceptedHere.add(chat.id);
        send({ type: "accept", chat: chat.id });
      });
      const decline = document.createElement("button");
      decline.type = "button";
      decline.className = "secondary";
      decline.textContent = S.decline;
      decline.addEventListener("click", () => send({ type: "decline", chat: chat.id }));
      item.append(text, accept, decline);
      notice.append(item);
    }
  };

  const handle = (data) => {
    if (data.type === "welcome") {
      window.sarunaChat.welcome = data;
      rings.clear();
      for (const ring of data.rings || []) rings.set(ring.chat.id, ring);
      ringing();
    } else if (data.type === "ring") {
      rings.set(data.ring.chat.id, data.ring);
      ringing();
    } else if (data.type === "ring_cancelled" || data.type === "assigned") {
      const id = typeof data.chat === "string" ? data.chat : data.chat.id;
      rings.delete(id);
      ringing();
      if (data.type === "assigned" && acceptedHere.has(id) && !onDesk()) {
        window.location.assign(`${nav.getAttribute("href")}#chat-${id}`);
      }
    }
    dispatch(data);
  };

  const connect = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/chat/agent/`);
    let ping;
    socket = ws;
    ws.addEventListener("open", () => {
      retry = 1000;
      ping = setInterval(() => send({ type: "ping" }), 20000);
      dispatch({ type: "socket.open" });
    });
    ws.addEventListener("message", (event) => handle(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => {
      clearInterval(ping);
      if (socket === ws) socket = null;
      dispatch({ type: "socket.closed" });
      if (event.code === 4401 || event.code === 4403) return;  // not an agent here
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  };
  connect();
})();
