// The visitor's chat, inside the iframe the loader opens (docs/widget.md). Delivery: every
// message has a client id and stays "pending" until the server's copy (with its seq) comes
// back; a reconnect says the last seq it has and re-sends what is pending, and the server
// drops repeats. WebSocket first; when it cannot connect, long-polling.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const widget = JSON.parse($("saruna-widget").textContent);
  const S = widget.strings;
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (match, key) => values[key]);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    node.append(...children);
    return node;
  };
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  // Not crypto.randomUUID: that needs a secure context, and a self-hosted install may be http.
  const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (byte) => byte.toString(16).padStart(2, "0")).join("");

  // --- the host page (through the loader) --------------------------------------------------
  const standalone = window.parent === window;
  let hostOrigin = null;
  const tell = (message) => { if (hostOrigin) window.parent.postMessage(message, hostOrigin); };
  let token = null;
  let identity = null;
  let invitation = null;
  let visible = standalone;

  // --- state ---------------------------------------------------------------------------
  let chat = null;  // the chat's id once started
  let lastSeq = 0;  // the highest seq shown
  let seenSeq = 0;  // the highest seq the visitor has had in view
  let ended = false;
  let everChatted = false;
  const shown = new Map();  // seq -> <li>
  const pending = new Map();  // client id -> {body, li, sentOn}
  const log = $("log");

  const show = (pane) => {
    for (const section of document.querySelectorAll(".pane")) section.hidden = section.id !== pane;
    focusPane();
  };
  const focusPane = () => {
    const pane = document.querySelector(".pane:not([hidden])");
    const target = pane && pane.querySelector("textarea:not([hidden]), input:not([type=hidden]), button");
    if (target && visible) target.focus();
  };
  const status = (text) => { $("status").textContent = text; };
  const problem = (id, text) => { $(id).textContent = text || ""; };

  const api = async (path, body, method) => {
    const headers = { "X-Saruna-Visitor": token || "" };
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    const response = await fetch(path, { method: method || (body ? "POST" : "GET"), headers, body,
      credentials: "omit" });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.message || S.failed), { status: response.status, data });
    return data;
  };
  const chatPath = (rest) => `/widget/chats/${encodeURIComponent(chat)}/${rest}`;

  // --- messages ------------------------------------------------------------------------
  const LINK = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/;
  const textWithLinks = (text) => (text || "").split(LINK).map((part, index) => (index % 2
    ? el("a", { href: part, target: "_blank", rel: "noopener noreferrer" }, part) : part));
  const size = (bytes) => (bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
  const authorName = (message) => {
    if (message.kind === "visitor") return S.you;
    return (message.author && message.author.name) || message.author || "";
  };
  const render = (message, li) => {
    li.className = `msg ${message.kind}${message.seq ? "" : " pending"}`;
    if (message.seq) li.dataset.seq = message.seq;
    const when = message.date ? new Date(message.date) : new Date();
    const meta = el("span", { class: "meta" }, when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    if (!message.seq) meta.append(` · ${S.sending}`);
    const body = el("div", { class: "body" }, ...textWithLinks(message.body));
    for (const file of message.files || []) {
      body.append(el("a", { class: "file", href: file.url, target: "_blank", rel: "noopener" },
        `${file.name} (${size(file.size)})`));
    }
    const parts = message.kind === "system" ? [body] : [el("span", { class: "author" }, authorName(message)), body, meta];
    li.replaceChildren(...parts);
    return li;
  };
  const place = (li, seq) => {
    const later = [...shown.entries()].filter(([other]) => other > seq).sort((a, b) => a[0] - b[0])[0];
    const firstPending = log.querySelector(".pending");
    log.insertBefore(li, later ? later[1] : firstPending);
  };
  const scrollDown = () => { log.scrollTop = log.scrollHeight; };

  const receive = (message) => {
    if (!message || !message.seq || shown.has(message.seq)) return;
    const mine = pending.get(message.client_id);
    const li = mine ? mine.li : el("li");
    pending.delete(message.client_id);
    render(message, li);
    shown.set(message.seq, li);
    place(li, message.seq);
    lastSeq = Math.max(lastSeq, message.seq);
    if (message.kind === "agent") everChatted = true;
    scrollDown();
    tell({ type: "chat", id: chat, seq: lastSeq });
    acknowledge();
    if (message.kind !== "visitor") markSeen();
  };
  let ackTimer;
  const acknowledge = () => {
    clearTimeout(ackTimer);
    ackTimer = setTimeout(() => frame({ type: "ack", seq: lastSeq }), 300);
  };
  // Read receipts: what arrived while the panel was in view and the page in front is read.
  const markSeen = () => {
    if (visible && document.visibilityState === "visible" && lastSeq > seenSeq) {
      seenSeq = lastSeq;
      frame({ type: "read", seq: seenSeq }, "read/");
    } else if (!visible) {
      const unread = [...shown.entries()].filter(([seq, li]) => seq > seenSeq && !li.classList.contains("visitor")).length;
      tell({ type: "unread", count: unread });
    }
  };
  document.addEventListener("visibilitychange", markSeen);

  const showRead = (seq) => {
    for (const [number, li] of shown) {
      const meta = li.querySelector(".meta");
      if (number <= seq && li.classList.contains("visitor") && meta && !li.dataset.read) {
        li.dataset.read = "1";
        meta.append(` · ${S.read}`);
      }
    }
  };

  let typingTimer;
  const showTyping = (name) => {
    $("typing").textContent = name === false ? "" : fill(S.typing, { name: name || S.agent });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 6000);
  };

  const applyState = (state) => {
    if (!state) return;
    if (state.status === "queued" || state.status === "ringing") {
      const parts = [state.queue_position ? fill(S.queue, { position: state.queue_position }) : S.connecting];
      if (state.estimated_wait) parts.push(fill(S.wait, { minutes: Math.max(1, Math.round(state.estimated_wait / 60)) }));
      status(parts.join(" "));
    } else if (state.status === "chatting") {
      everChatted = true;
      status(state.agent ? fill(S.chatting, { name: state.agent.name }) : "");
    } else if (state.status === "ended") {
      finish(state);
    }
  };

  // --- transport -------------------------------------------------------------------------
  let socket = null;
  let polling = false;
  let failures = 0;
  let lastFrame = 0;
  const backoff = () => Math.min(1000 * 2 ** failures, 15000) * (0.5 + Math.random() / 2);
  const socketOpen = () => socket && socket.readyState === WebSocket.OPEN && socket.greeted;

  // One client frame: over the socket when it is up, else to its REST twin (if it has one).
  const frame = (data, restPath) => {
    if (!chat || ended) return;
    if (socketOpen()) socket.send(JSON.stringify(data));
    else if (restPath && polling) {
      const { type, ...body } = data;
      api(chatPath(restPath), body).catch(() => {});
    }
  };

  const flush = () => {
    if (!chat) return;
    for (const [clientId, item] of pending) {
      if (socketOpen()) {
        if (item.sentOn === socket) continue;
        item.sentOn = socket;
        socket.send(JSON.stringify({ type: "message", client_id: clientId, body: item.body }));
      } else if (polling && !item.sentOn) {
        item.sentOn = "rest";
        api(chatPath("messages/"), { client_id: clientId, body: item.body })
          .then(receive, (error) => {
            item.sentOn = null;
            if (error.status && error.status < 500 && error.status !== 429) refuse(clientId, error);
          });
      }
    }
  };
  const refuse = (clientId, error) => {
    const item = pending.get(clientId);
    pending.delete(clientId);
    if (item) item.li.remove();
    problem("composer-error", error.message);
  };

  const connect = () => {
    if (!chat || ended || socket) return;
    if (polling || !("WebSocket" in window)) { poll(); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/chat/visitor/${encodeURIComponent(chat)}/`);
    socket = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      lastFrame = Date.now();
      ws.send(JSON.stringify({ type: "hello", token, after_seq: lastSeq }));
      ws.greeted = true;
      failures = 0;
      problem("connection", "");
      flush();
      acknowledge();
    });
    ws.addEventListener("message", (event) => {
      lastFrame = Date.now();
      handle(JSON.parse(event.data));
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      if (ended) return;
      if (event.code === 4403 || event.code === 4404) { problem("connection", S.lost); return; }
      failures += 1;
      // Never opened twice in a row: something between us blocks WebSockets.
      if (!opened && failures >= 2) polling = true;
      if (failures > 1) problem("connection", S.reconnecting);
      setTimeout(connect, polling ? 0 : backoff());
    });
  };
  const handle = (data) => {
    if (data.type === "message") receive(data.message || data);
    else if (data.type === "messages") (data.messages || []).forEach(receive);
    else if (data.type === "state") applyState(data.state || data);
    else if (data.type === "typing") showTyping(data.typing !== false && data.name);
    else if (data.type === "read") showRead(data.seq);
    else if (data.type === "ended") finish(data);
    else if (data.type === "error" && pending.has(data.client_id)) refuse(data.client_id, data);
  };
  // Heartbeats: a ping every 15 s; a socket silent for 30 s is dead and is replaced.
  setInterval(() => {
    if (!socketOpen()) return;
    if (Date.now() - lastFrame > 30000) { socket.close(); socket = null; connect(); return; }
    socket.send(JSON.stringify({ type: "ping" }));
  }, 15000);

  const poll = async () => {
    if (poll.running) return;
    poll.running = true;
    while (chat && !ended) {
      flush();
      try {
        const data = await api(chatPath(`poll/?after_seq=${lastSeq}`));
        (data.messages || []).forEach(receive);
        applyState(data.state);
        failures = 0;
        problem("connection", "");
      } catch (error) {
        if (error.status === 403 || error.status === 404) { problem("connection", S.lost); break; }
        failures += 1;
        if (failures > 1) problem("connection", S.reconnecting);
        await sleep(backoff());
      }
    }
    poll.running = false;
  };

  // --- starting, sending, ending -------------------------------------------------------
  const values = (form) => Object.fromEntries([...new FormData(form)].filter(([, value]) => typeof value === "string"));
  const showErrors = (form, error) => {
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    let first = null;
    for (const [name, messages] of Object.entries((error.data && error.data.errors) || {})) {
      const input = form.elements[name];
      const note = input && $(`${input.id}-error`);
      if (!note) continue;
      note.textContent = [].concat(messages).join(" ");
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
    form.querySelector(".form-error").textContent = error.message;
    if (first) first.focus();
  };

  const begin = async (fields, message) => {
    const clientId = message ? newId() : undefined;
    if (message) queueMessage(clientId, message, "start");
    const data = await api(`/widget/${encodeURIComponent(widget.button)}/chats/`, {
      fields, message, client_id: clientId, invitation, identity,
    }).catch((error) => {
      if (clientId) refuse(clientId, { message: "" });
      throw error;
    });
    invitation = null;
    chat = data.chat;
    tell({ type: "chat", id: chat, seq: 0 });
    tell({ type: "started" });
    applyState(data);
    show("conversation");
    $("attach").hidden = false;
    connect();
  };
  const queueMessage = (clientId, body, sentOn) => {
    const li = render({ kind: "visitor", body }, el("li"));
    log.append(li);
    scrollDown();
    pending.set(clientId, { body, li, sentOn });
  };
  const goOffline = (fields) => {
    const form = $("offline-form");
    for (const [name, value] of Object.entries(fields || {})) {
      if (form.elements[name] && !form.elements[name].value) form.elements[name].value = value;
    }
    show("offline");
  };
  const startOrOffline = (fields, message) => begin(fields, message).catch((error) => {
    if (error.data && error.data.offline) goOffline({ ...fields, message });
    else throw error;
  });

  $("prechat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    // A "message" field is also the chat's first message (and the question agents see ringing).
    const fields = values(form);
    const { message } = fields;
    form.querySelector("button[type=submit]").disabled = true;
    startOrOffline(fields, message).catch((error) => showErrors(form, error))
      .finally(() => { form.querySelector("button[type=submit]").disabled = false; });
  });

  const composer = $("composer");
  const input = $("message");
  const sendComposer = () => {
    const body = input.value.trim();
    if (!body) return;
    problem("composer-error", "");
    input.value = "";
    if (!chat) {
      startOrOffline({}, body).catch((error) => { problem("composer-error", error.message); input.value = body; });
      return;
    }
    queueMessage(newId(), body, null);
    flush();
  };
  composer.addEventListener("submit", (event) => { event.preventDefault(); sendComposer(); });
  let lastTyping = 0;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendComposer();
    }
  });
  input.addEventListener("input", () => {
    if (Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    frame({ type: "typing" }, "typing/");
  });

  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file || !chat) return;
    if (widget.max_file_bytes && file.size > widget.max_file_bytes) {
      problem("composer-error", fill(S.too_big, { name: file.name, size: size(widget.max_file_bytes) }));
      return;
    }
    problem("composer-error", fill(S.uploading, { name: file.name }));
    const body = new FormData();
    body.append("file", file);
    api(chatPath("files/"), body).then((message) => { problem("composer-error", ""); receive(message); },
      (error) => problem("composer-error", error.message));
  });

  // Emoji: a fixed set, inserted where the cursor is.
  const picker = $("emoji");
  const toggleEmoji = (open) => {
    picker.hidden = !open;
    $("emoji-button").setAttribute("aria-expanded", String(open));
    if (open) picker.querySelector("button").focus();
  };
  $("emoji-button").addEventListener("click", () => toggleEmoji(picker.hidden));
  picker.addEventListener("click", (event) => {
    const choice = event.target.closest("button");
    if (!choice) return;
    const at = input.selectionStart ?? input.value.length;
    input.setRangeText(choice.textContent, at, input.selectionEnd ?? at, "end");
    toggleEmoji(false);
    input.focus();
  });

  $("end").addEventListener("click", () => {
    if (!chat || ended) return;
    api(chatPath("end/"), {}).then((data) => finish(data.state || data), (error) => problem("composer-error", error.message));
  });
  function finish(state) {
    if (ended) return;
    ended = true;
    if (socket) { const ws = socket; socket = null; ws.close(); }
    tell({ type: "ended" });
    status(S.ended);
    $("typing").textContent = "";
    composer.hidden = true;
    $("end").hidden = true;
    // Nobody answered: the visitor gets the offline form instead of a rating.
    if (state.offline || (state.went_offline && !everChatted)) { goOffline(values($("prechat-form"))); return; }
    $("after").hidden = false;
    if (visible) $("after").querySelector("button").focus();
  }

  for (const choice of document.querySelectorAll("[data-rating]")) {
    choice.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-rating]")) {
        other.setAttribute("aria-pressed", String(other === choice));
      }
    });
  }
  $("rating-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const chosen = form.querySelector("[aria-pressed=true]");
    if (!chosen) { form.querySelector(".form-error").textContent = S.choose_rating; return; }
    api(chatPath("rating/"), { rating: chosen.dataset.rating, comment: form.elements.comment.value })
      .then(() => { form.replaceWith(el("p", { role: "status" }, S.rated)); }, (error) => showErrors(form, error));
  });
  $("transcript-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const email = form.elements.email.value;
    api(chatPath("transcript/"), { email })
      .then(() => { form.replaceWith(el("p", { role: "status" }, fill(S.transcript_sent, { email }))); },
        (error) => showErrors(form, error));
  });
  $("offline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    form.querySelector("button[type=submit]").disabled = true;
    api(`/widget/${encodeURIComponent(widget.button)}/offline/`, { fields: values(form), identity })
      .then(() => {
        const thanks = el("p", { role: "status", tabindex: "-1" }, S.offline_sent);
        form.replaceWith(thanks);
        thanks.focus();
        forget();
      }, (error) => { showErrors(form, error); form.querySelector("button[type=submit]").disabled = false; });
  });
  const forget = () => { chat = null; tell({ type: "forget" }); };
  $("new-chat").addEventListener("click", () => { forget(); location.reload(); });

  const close = () => tell({ type: "close" });
  $("minimize").addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!picker.hidden) { toggleEmoji(false); $("emoji-button").focus(); } else close();
  });

  // --- start --------------------------------------------------------------------------
  // The button's texts, forms and colours come from the same config.json the loader reads.
  let config = null;
  const buildFields = (form, prefix, specs) => {
    const box = form.querySelector(".fields");
    for (const spec of specs) {
      const id = `${prefix}-${spec.name}`;
      const label = el("label", { for: id }, spec.label);
      if (spec.required) label.append(el("span", { "aria-hidden": "true" }, " *"));
      let input;
      if (spec.type === "textarea") input = el("textarea", { rows: "3" });
      else if (spec.type === "select") {
        input = el("select", {}, el("option", { value: "" }, "—"));
        for (const option of spec.options || []) input.append(el("option", {}, option));
      } else input = el("input", { type: spec.type === "email" ? "email" : "text" });
      Object.assign(input, { id, name: spec.name, required: Boolean(spec.required) });
      if (spec.type === "email" || spec.name === "name") input.autocomplete = spec.type === "email" ? "email" : "name";
      input.setAttribute("aria-describedby", `${id}-error`);
      box.append(el("p", { class: "field" }, label, input, el("span", { class: "field-error", id: `${id}-error` })));
    }
  };
  // With an accepted invitation: the agent who invited answers, whatever their departments.
  const fetchConfig = () => fetch(`/widget/${encodeURIComponent(widget.button)}/config.json?lang=${document.documentElement.lang}${invitation ? `&invitation=${encodeURIComponent(invitation)}` : ""}`,
    { headers: token ? { "X-Saruna-Visitor": token } : {}, credentials: "omit" }).then((response) => response.json());
  const configure = async () => {
    config = await fetchConfig();
    const texts = config.button.texts || {};
    for (const node of document.querySelectorAll("[data-text]")) node.textContent = texts[node.dataset.text] || "";
    document.title = texts.title || document.title;
    // CSSOM, not a style attribute: this page's own policy forbids inline styles.
    const colors = config.button.colors || {};
    if (colors.background) document.documentElement.style.setProperty("--color", colors.background);
    if (colors.text) document.documentElement.style.setProperty("--text", colors.text);
    buildFields($("prechat-form"), "prechat", config.prechat_fields || []);
    buildFields($("offline-form"), "offline", config.offline_fields || []);
    return config;
  };
  const startPane = () => {
    if (!config.online) show("offline");
    else if ((config.prechat_fields || []).length) show("prechat");
    else show("conversation");
  };
  const resume = async (id) => {
    chat = id;
    try {
      const data = await api(chatPath("messages/?after_seq=0"));
      show("conversation");
      $("attach").hidden = false;
      (data.messages || []).forEach(receive);
      applyState(data.state);
      connect();
    } catch (error) {
      chat = null;
      tell({ type: "forget" });
      startPane();
    }
  };
  const init = (data) => {
    token = data.token;
    identity = data.identity || null;
    invitation = data.invitation || null;
    visible = data.visible !== false;
    seenSeq = (data.chat && data.chat.seq) || 0;
    configure().then(() => {
      if (data.chat && data.chat.id) resume(data.chat.id);
      else startPane();
    }, () => problem("connection", S.failed));
  };
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || standalone) return;
    const data = event.data || {};
    if (hostOrigin === null && data.type === "init") { hostOrigin = event.origin; init(data); return; }
    if (event.origin !== hostOrigin) return;
    if (data.type === "identity") identity = data.identity;
    else if (data.type === "opened") {
      visible = true;
      if (data.invitation && !chat) {
        invitation = data.invitation;
        // This panel may have shown the offline form before an agent came and invited.
        if (config && !config.online) fetchConfig().then((fresh) => { config.online = fresh.online; startPane(); }, () => {});
      }
      focusPane();
      markSeen();
    } else if (data.type === "closed") visible = false;
  });
  if (standalone) {
    // Opened on its own (a link to the chat page): this origin's storage keeps the token.
    const key = `saruna.${widget.button}.visitor`;
    token = localStorage.getItem(key);
    configure().then(() => {
      if (config.token) { token = config.token; localStorage.setItem(key, token); }
      startPane();
    });
  } else {
    window.parent.postMessage({ type: "ready" }, "*");  // carries nothing: the origin is not known yet
  }
})();
