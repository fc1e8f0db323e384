// The agent's chat screen: status, incoming rings, and the accepted chats side by side. The
// socket is chat/agent.js's (frames arrive as "saruna:chat" events). Messages carry client
// ids and stay "sending" until the server's copy comes back; after a reconnect every open
// chat asks for what it missed (`sync` with its last seq) and re-sends what is pending.
(() => {
  "use strict";
  const desk = document.getElementById("chat-desk");
  if (!desk) return;
  const S = desk.dataset;
  const chat = window.sarunaChat;
  const csrf = document.body.dataset.csrf;
  const panes = new Map();  // chat id -> pane
  // The chat the agent works in (focus or a click puts it there). The visitor's messages in
  // the others count as unread: a badge on their pane, and no read receipt until opened.
  let activePane = null;
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (match, key) => values[key]);
  const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (byte) => byte.toString(16).padStart(2, "0")).join("");
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const urlFor = (template, id) => template.replace("CHAT", encodeURIComponent(id));

  // --- status ----------------------------------------------------------------------------
  const statusForm = document.getElementById("status-form");
  const sendStatus = () => {
    const departments = {};
    for (const select of statusForm.querySelectorAll("[data-department]")) {
      departments[select.dataset.department] = select.value || null;
    }
    const max = parseInt(statusForm.elements.max_chats.value, 10);
    const sent = chat.send({ type: "status", status: statusForm.elements.status.value, departments,
                             max_chats: max >= 1 ? max : null });
    if (!sent) document.getElementById("connection").textContent = S.offline;
  };
  statusForm.addEventListener("change", sendStatus);
  statusForm.addEventListener("submit", (event) => { event.preventDefault(); sendStatus(); });
  const showStatus = (state) => {
    statusForm.dataset.saved = state.status;  // what the server has, for the page's tests
    statusForm.elements.status.value = state.status;
    statusForm.elements.max_chats.value = state.max_chats;
    for (const select of statusForm.querySelectorAll("[data-department]")) {
      select.value = (state.departments || {})[select.dataset.department] || "";
    }
    document.getElementById("active-chats").textContent = String(state.active_chats);
  };

  // --- rings -----------------------------------------------------------------------------
  const ringList = document.getElementById("rings");
  const rings = new Map();
  const showRings = () => {
    ringList.replaceChildren();
    document.getElementById("no-rings").hidden = rings.size > 0;
    for (const ring of rings.values()) {
      const summary = ring.chat;
      const item = el("li", "ring");
      const purpose = { transfer: S.purposeTransfer, invite: S.purposeInvite }[ring.purpose] || S.purposeRoute;
      item.append(el("strong", "", `${purpose}: ${summary.visitor.name}`),
        el("span", "muted", ` · ${summary.department.name}${ring.from ? ` · ${ring.from.name}` : ""}`));
      if (ring.note) item.append(el("p", "muted", ring.note));
      const question = summary.fields && summary.fields.message;
      if (question) item.append(el("p", "question", question));
      const accept = el("button", "", S.accept);
      accept.type = "button";
      accept.addEventListener("click", () => chat.send({ type: "accept", chat: summary.id }));
      const decline = el("button", "secondary", S.decline);
      decline.type = "button";
      decline.addEventListener("click", () => chat.send({ type: "decline", chat: summary.id }));
      item.append(accept, decline);
      ringList.append(item);
    }
  };

  // --- one chat --------------------------------------------------------------------------
  const template = document.getElementById("chat-pane");
  class Pane {
    constructor(summary) {
      this.id = summary.id;
      this.lastSeq = 0;
      this.readSeq = 0;
      this.unread = 0;
      this.history = summary.last_seq;  // what was said before the pane opened is not news
      this.shown = new Map();
      this.pending = new Map();
      this.ended = false;
      this.node = template.content.firstElementChild.cloneNode(true);
      this.node.id = `chat-${this.id}`;
      this.log = this.node.querySelector(".log");
      this.input = this.node.querySelector("textarea");
      document.getElementById("chats").append(this.node);
      document.getElementById("no-chats").hidden = true;
      this.wire();
      this.update(summary);
      this.loadVisitor();
    }

    wire() {
      const form = this.node.querySelector(".composer");
      form.addEventListener("submit", (event) => { event.preventDefault(); this.sendComposer(); });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.sendComposer();
        }
      });
      let lastTyping = 0;
      this.input.addEventListener("input", () => {
        if (Date.now() - lastTyping < 3000) return;
        lastTyping = Date.now();
        chat.send({ type: "typing", chat: this.id, typing: true });
      });
      const canned = this.node.querySelector(".canned");
      if (canned) {
        canned.addEventListener("change", () => {
          if (!canned.value) return;
          const at = this.input.selectionStart ?? this.input.value.length;
          this.input.setRangeText(canned.value, at, this.input.selectionEnd ?? at, "end");
          canned.value = "";
          this.input.focus();
        });
      }
      this.node.querySelector("input[type=file]").addEventListener("change", (event) => this.upload(event.target));
      this.node.querySelector(".end").addEventListener("click", () => {
        if (window.confirm(S.confirmEnd)) chat.send({ type: "end", chat: this.id });
      });
      this.node.querySelector(".close").addEventListener("click", () => this.remove());
      this.node.querySelector(".transfer").addEventListener("submit", (event) => {
        event.preventDefault();
        const [kind, target] = event.target.elements.target.value.split(":");
        chat.send({ type: "transfer", chat: this.id, [kind]: target, note: event.target.elements.note.value });
        this.notice(S.transferAsked);
      });
      this.node.querySelector(".invite").addEventListener("submit", (event) => {
        event.preventDefault();
        chat.send({ type: "invite", chat: this.id, agent: event.target.elements.agent.value });
        this.notice(S.inviteAsked);
      });
      this.node.addEventListener("focusin", () => this.activate());
      this.node.addEventListener("pointerdown", () => this.activate());
    }

    activate() {
      if (activePane === this) return;
      if (activePane) activePane.node.classList.remove("active");
      activePane = this;
      this.node.classList.add("active");
      this.showUnread(0);
      this.markRead();
    }

    inView() {
      return document.visibilityState === "visible" && (activePane === this || panes.size === 1);
    }

    showUnread(count) {
      this.unread = count;
      const badge = this.node.querySelector(".unread");
      badge.hidden = count === 0;
      badge.textContent = count ? fill(S.unread, { count }) : "";
    }

    update(summary) {
      this.summary = summary;
      this.node.querySelector(".visitor-name").textContent = summary.visitor.name;
      this.node.querySelector(".department").textContent = summary.department.name;
      const link = this.node.querySelector(".ticket-link");
      link.href = summary.ticket.url;
      link.textContent = summary.ticket.code;
      this.node.querySelector(".participants").textContent =
        [summary.agent, ...(summary.participants || [])].filter(Boolean).map((p) => p.name).join(", ");
      this.log.setAttribute("aria-label", summary.visitor.name);
      if (summary.visitor_read_seq) this.showRead(summary.visitor_read_seq);
      if (summary.status === "ended") this.end();
    }

    notice(text) { this.node.querySelector(".pane-notice").textContent = text || ""; }

    async loadVisitor() {
      const response = await fetch(urlFor(S.visitorUrl, this.id), { credentials: "same-origin" });
      if (response.ok) this.node.querySelector(".visitor-body").innerHTML = await response.text();
    }

    render(message, li) {
      li.className = `msg ${message.kind}${message.seq ? "" : " pending"}`;
      const author = el("span", "author", message.kind === "system" ? "" : (message.author || S.you));
      const body = el("div", "body", message.body);
      for (const file of message.files || []) {
        const link = el("a", "file", file.name);
        link.href = file.url;
        link.target = "_blank";
        body.append(link);
      }
      const when = message.date ? new Date(message.date) : new Date();
      const meta = el("span", "meta", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      if (!message.seq) meta.append(` · ${S.sending}`);
      li.replaceChildren(author, body, meta);
      return li;
    }

    receive(message) {
      if (!message.seq || this.shown.has(message.seq)) return;
      const mine = this.pending.get(message.client_id);
      this.pending.delete(message.client_id);
      const li = this.render(message, mine ? mine.li : el("li"));
      li.dataset.seq = message.seq;
      const later = [...this.shown.keys()].filter((seq) => seq > message.seq).sort((a, b) => a - b)[0];
      this.log.insertBefore(li, later ? this.shown.get(later) : this.log.querySelector(".pending"));
      this.shown.set(message.seq, li);
      this.lastSeq = Math.max(this.lastSeq, message.seq);
      this.log.scrollTop = this.log.scrollHeight;
      if (message.kind === "visitor") {
        this.node.querySelector(".typing").textContent = "";
        if (this.inView()) this.markRead();
        else if (message.seq > Math.max(this.history, this.readSeq)) this.showUnread(this.unread + 1);
      }
    }

    // The visitor's messages count as read while this pane is the one in front.
    markRead() {
      if (!this.inView() || this.lastSeq <= this.readSeq || this.ended) return;
      this.readSeq = this.lastSeq;
      chat.send({ type: "read", chat: this.id, seq: this.readSeq });
    }

    showRead(seq) {
      for (const [number, li] of this.shown) {
        if (number <= seq && li.classList.contains("agent") && !li.dataset.read) {
          li.dataset.read = "1";
          li.querySelector(".meta").append(` · ${S.read}`);
        }
      }
    }

    sendComposer() {
      const body = this.input.value.trim();
      if (!body || this.ended) return;
      this.input.value = "";
      const clientId = newId();
      const li = this.render({ kind: "agent", body }, el("li"));
      this.log.append(li);
      this.log.scrollTop = this.log.scrollHeight;
      this.pending.set(clientId, { body, li });
      chat.send({ type: "message", chat: this.id, client_id: clientId, body });
      chat.send({ type: "typing", chat: this.id, typing: false });
    }

    refuse(clientId, text) {
      this.pending.get(clientId).li.remove();
      this.pending.delete(clientId);
      this.node.querySelector(".composer-error").textContent = text;
    }

    resend() {
      for (const [clientId, item] of this.pending) {
        chat.send({ type: "message", chat: this.id, client_id: clientId, body: item.body });
      }
    }

    sync() {
      chat.send({ type: "sync", chat: this.id, after_seq: this.lastSeq });
      this.resend();
    }

    async upload(input) {
      const file = input.files[0];
      input.value = "";
      if (!file) return;
      const data = new FormData();
      data.append("file", file);
      data.append("client_id", newId());
      const error = this.node.querySelector(".composer-error");
      error.textContent = "";
      const response = await fetch(urlFor(S.filesUrl, this.id), {
        method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) { error.textContent = answer.message || response.statusText; return; }
      this.receive(answer.message || answer);
    }

    end(why = S.ended) {
      if (this.ended) return;
      this.ended = true;
      this.node.classList.add("ended");
      this.node.querySelector(".composer").hidden = true;
      this.node.querySelector(".chat-actions").hidden = true;
      this.node.querySelector(".end").hidden = true;
      this.node.querySelector(".close").hidden = false;
      this.node.querySelector(".typing").textContent = "";
      this.notice(why);
    }

    remove() {
      this.node.remove();
      panes.delete(this.id);
      if (activePane === this) activePane = null;
      document.getElementById("no-chats").hidden = panes.size > 0;
    }
  }

  const open = (summary) => {
    let pane = panes.get(summary.id);
    if (!pane) {
      pane = new Pane(summary);
      panes.set(summary.id, pane);
      pane.sync();
    } else {
      pane.update(summary);
    }
    return pane;
  };
  const paneOf = (data) => panes.get(typeof data.chat === "string" ? data.chat : data.chat && data.chat.id);

  const handle = (data) => {
    const pane = paneOf(data);
    const connection = document.getElementById("connection");
    switch (data.type) {
      case "socket.open":
        connection.textContent = "";
        break;
      case "socket.closed":
        connection.textContent = S.offline;
        break;
      case "welcome":
        showStatus(data.agent);
        rings.clear();
        for (const ring of data.rings || []) rings.set(ring.chat.id, ring);
        showRings();
        for (const existing of panes.values()) if (!existing.ended) existing.sync();
        for (const summary of data.chats || []) open(summary);
        break;
      case "status":
        showStatus(data);
        break;
      case "ring":
        rings.set(data.ring.chat.id, data.ring);
        showRings();
        break;
      case "ring_cancelled":
        rings.delete(data.chat);
        showRings();
        break;
      case "assigned": {
        rings.delete(data.chat.id);
        showRings();
        const fresh = open(data.chat);
        fresh.input.focus();
        break;
      }
      case "unassigned":
        if (pane) pane.end(S.transferred);
        break;
      case "transfer_failed":
        if (pane) pane.notice(S.transferFailed);
        break;
      case "message":
        if (pane) pane.receive(data.message);
        break;
      case "typing":
        if (pane && (data.side || data.from) === "visitor") {
          pane.node.querySelector(".typing").textContent = data.typing ? fill(S.typing, { name: data.name }) : "";
        }
        break;
      case "read":
        if (pane && (data.side || data.from) === "visitor") pane.showRead(data.seq);
        break;
      case "chat":
        if (pane) pane.update(data.chat);
        break;
      case "ended":
        if (pane) pane.end();
        break;
      case "error":
        if (pane && pane.pending.has(data.client_id)) pane.refuse(data.client_id, data.message);
        else if (pane) pane.notice(data.message);
        else connection.textContent = data.message;
        break;
      default:
    }
  };
  document.addEventListener("saruna:chat", (event) => handle(event.detail));
  // The socket may have greeted before this script ran.
  if (chat.welcome) handle(chat.welcome);
  document.addEventListener("visibilitychange", () => panes.forEach((pane) => pane.markRead()));
})();
