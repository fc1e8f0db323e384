// Saruna's website loader: the `saruna(...)` command queue, the visitor token, the chat
// button and invitation bubble (in a shadow root styled by a constructed stylesheet, so a
// host page's CSS and a strict Content-Security-Policy leave it alone), the tracking module
// when enabled, and the chat UI iframe on demand. The contract is docs/widget.md.
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector("script[data-saruna-button]");
  const previous = window.saruna;
  if (!script || (previous && previous._ctx)) return;  // no snippet, or loaded twice
  const origin = new URL(script.src).origin;
  const button = script.dataset.sarunaButton || "";
  const prefix = `saruna.${button}.`;
  const load = (key) => {
    try { return JSON.parse(localStorage.getItem(prefix + key)); } catch (error) { return null; }
  };
  const save = (key, value) => {
    try {
      if (value === null) localStorage.removeItem(prefix + key);
      else localStorage.setItem(prefix + key, JSON.stringify(value));
    } catch (error) { /* storage blocked: the visitor stays anonymous per page */ }
  };

  // --- the API and the event bus ---------------------------------------------------------
  const listeners = {};
  const waiting = {};  // events emitted before anyone listened (e.g. a conversion before track.js)
  const ctx = {
    origin, button, token: load("visitor"), config: null,
    lang: (navigator.language || "en").slice(0, 2).toLowerCase(),
    consent: load("consent") || {},
  };
  const on = (name, fn) => {
    (listeners[name] = listeners[name] || []).push(fn);
    (waiting[name] || []).splice(0).forEach(fn);
  };
  const emit = (name, data) => {
    if (listeners[name]) listeners[name].forEach((fn) => fn(data));
    else if ((waiting[name] = waiting[name] || []).length < 20) waiting[name].push(data);
  };
  const ga = (event, params) => {
    if (typeof window.gtag === "function") window.gtag("event", event, params || {});
    else if (Array.isArray(window.dataLayer)) window.dataLayer.push({ event, ...params });
  };

  let chat = load("chat");  // {id, seq, open}: the conversation survives reloads and navigation
  let identity = null;
  let pendingInvitation = null;
  const commands = {
    identify(data) { identity = data; post({ type: "identity", identity }); emit("identify", data); },
    consent(data) {
      ctx.consent = { ...ctx.consent, ...data };
      save("consent", ctx.consent);
      emit("consent", ctx.consent);
    },
    open() { open(); },
    close() { close(); },
  };
  const run = (args) => {
    const [name, data] = args;
    if (commands[name]) commands[name](data || {});
    else emit(`command:${name}`, data || {});
  };
  const api = (...args) => { if (ctx.config) run(args); else queue.push(args); };
  const queue = (previous && previous.q) || [];
  Object.assign(api, { _ctx: ctx, _on: on, _emit: emit, _ga: ga, q: [] });
  window.saruna = api;

  // --- the button, the bubble and the frame ------------------------------------------------
  const host = document.createElement("div");
  host.setAttribute("data-saruna", "");
  const root = host.attachShadow({ mode: "open" });
  const css = `
:host{all:initial;position:fixed;z-index:2147483000;bottom:20px;right:20px;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330}
:host(.left){right:auto;left:20px}
*{box-sizing:border-box}
[hidden]{display:none!important}
button{font:inherit;cursor:pointer}
:focus-visible{outline:3px solid var(--accent,#1f6feb);outline-offset:2px}
.open{display:flex;align-items:center;gap:8px;margin-left:auto;padding:12px 18px;border:0;border-radius:28px;background:var(--color,#1f6feb);color:var(--text,#fff);box-shadow:0 4px 16px rgba(0,0,0,.25);font-weight:600}
.open svg{width:22px;height:22px;fill:currentColor}
.badge{min-width:20px;padding:0 6px;border-radius:10px;background:#c4320a;color:#fff;font-size:12px;line-height:20px;text-align:center}
.wrap{display:flex;flex-direction:column;align-items:flex-end;gap:12px}
:host(.left) .wrap{align-items:flex-start}
.bubble{position:relative;max-width:280px;padding:14px 16px;border-radius:12px;background:#fff;box-shadow:0 4px 20px rgba(0,0,0,.2)}
.bubble p{margin:0 0 10px}
.who{display:flex;align-items:center;gap:8px;font-weight:600;margin-bottom:6px}
.who img{width:32px;height:32px;border-radius:50%}
.reply{padding:8px 14px;border:0;border-radius:6px;background:var(--color,#1f6feb);color:var(--text,#fff)}
.dismiss{position:absolute;top:4px;right:4px;width:28px;height:28px;border:0;border-radius:50%;background:none;color:#5b6475;font-size:20px;line-height:1}
.panel{width:370px;height:min(600px,calc(100vh - 110px));border-radius:12px;overflow:hidden;background:#fff;box-shadow:0 6px 28px rgba(0,0,0,.3)}
.panel iframe{width:100%;height:100%;border:0;display:block}
@media (max-width:480px){.panel.shown{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}
@media (prefers-reduced-motion:no-preference){.bubble,.panel{animation:in .2s ease-out}@keyframes in{from{opacity:0;transform:translateY(8px)}}}
`;
  // A constructed stylesheet is not an inline style: host CSPs without 'unsafe-inline' allow it.
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(Object.assign(document.createElement("style"), { textContent: css }));
  }
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    node.append(...children);
    return node;
  };
  const wrap = el("div", { class: "wrap" });
  const panel = el("div", { class: "panel", id: "saruna-panel", hidden: "" });
  const bubble = el("div", { class: "bubble", role: "status", hidden: "" });
  const opener = el("button", { class: "open", type: "button", "aria-expanded": "false",
    "aria-controls": "saruna-panel" });
  // Built node by node: no innerHTML, so pages that require Trusted Types work too.
  const svg = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  };
  const icon = svg("svg", { viewBox: "0 0 24 24", "aria-hidden": "true" });
  icon.append(svg("path", { d: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z" }));
  opener.append(icon);
  const label = el("span");
  const badge = el("span", { class: "badge", hidden: "" });
  opener.append(label, badge);
  wrap.append(bubble, panel, opener);
  root.append(wrap);

  let frame = null;
  let frameReady = false;
  const post = (message) => {
    if (frame && frameReady) frame.contentWindow.postMessage(message, origin);
  };
  const remember = (changes) => {
    chat = changes && { ...chat, ...changes };
    save("chat", chat);
  };
  const setOpen = (shown) => {
    panel.hidden = !shown;
    panel.classList.toggle("shown", shown);
    opener.hidden = shown && matchMedia("(max-width:480px)").matches;
    opener.setAttribute("aria-expanded", String(shown));
  };
  const texts = () => ctx.config.button.texts;
  // `focus` is false when a page load restores an open chat: the visitor did not ask for it.
  const open = (invitation, focus = true) => {
    if (!ctx.config) return;
    hideBubble();
    if (invitation) pendingInvitation = invitation;
    if (!frame) {
      frame = el("iframe", { title: texts().title,
        src: `${origin}/widget/${encodeURIComponent(button)}/chat/?lang=${encodeURIComponent(ctx.config.language || ctx.lang)}` });
      panel.append(frame);
    } else {
      post({ type: "opened", invitation: pendingInvitation });
      pendingInvitation = null;
    }
    setOpen(true);
    badge.hidden = true;
    if (chat) remember({ open: true });
    if (focus) frame.focus();
  };
  const close = () => {
    if (panel.hidden) return;
    setOpen(false);
    post({ type: "closed" });
    if (chat) remember({ open: false });
    opener.focus();
  };
  opener.addEventListener("click", () => (panel.hidden ? open() : close()));

  // Messages from our iframe only: its origin and its window.
  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
    const data = event.data || {};
    if (data.type === "ready") {
      frameReady = true;
      post({ type: "init", token: ctx.token, identity, chat, invitation: pendingInvitation,
             consent: ctx.consent, visible: !panel.hidden });
      pendingInvitation = null;
    } else if (data.type === "chat") {
      remember({ id: data.id, seq: data.seq, open: !panel.hidden });
    } else if (data.type === "started") {
      ga("saruna_chat_started", { button });
    } else if (data.type === "ended") {
      ga("saruna_chat_ended", { button });
    } else if (data.type === "forget") {
      remember(null);
    } else if (data.type === "unread" && panel.hidden && data.count > 0) {
      badge.textContent = String(data.count);
      badge.hidden = false;
    } else if (data.type === "close") {
      close();
    }
  });

  let invitation = null;
  const hideBubble = () => { bubble.hidden = true; bubble.replaceChildren(); };
  on("invitation", (data) => {
    if (!data || !data.id || !panel.hidden) return;
    invitation = data;
    const who = el("div", { class: "who" });
    if (data.avatar_url) who.append(el("img", { src: data.avatar_url, alt: "" }));
    who.append(data.agent_name || "");
    const reply = el("button", { class: "reply", type: "button" }, texts().reply || texts().title);
    const dismiss = el("button", { class: "dismiss", type: "button", "aria-label": texts().dismiss || "×" }, "×");
    bubble.replaceChildren(who, el("p", {}, data.text || ""), reply, dismiss);
    bubble.hidden = false;
    ga("saruna_invitation_shown", { button, invitation: data.id });
    reply.addEventListener("click", () => {
      ga("saruna_invitation_accepted", { button, invitation: invitation.id });
      open(invitation.id);
    });
    dismiss.addEventListener("click", () => {
      const body = JSON.stringify({ token: ctx.token });
      fetch(`${origin}/widget/invitations/${encodeURIComponent(invitation.id)}/decline/`,
        { method: "POST", body, headers: { "Content-Type": "text/plain" }, keepalive: true }).catch(() => {});
      hideBubble();
      opener.focus();
    });
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !bubble.hidden) { hideBubble(); opener.focus(); }
  });

  // --- start: configuration, then the queued commands, the tracking module and the button --
  const lang = encodeURIComponent(ctx.lang);
  fetch(`${origin}/widget/${encodeURIComponent(button)}/config.json?lang=${lang}`,
    { headers: ctx.token ? { "X-Saruna-Visitor": ctx.token } : {}, credentials: "omit" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((config) => {
      ctx.config = config;
      if (config.token) { ctx.token = config.token; save("visitor", config.token); }
      if (config.language) ctx.lang = config.language;
      const { colors = {}, position } = config.button;
      if (colors.background) host.style.setProperty("--color", colors.background);
      if (colors.text) host.style.setProperty("--text", colors.text);
      if (position === "left") host.classList.add("left");
      label.textContent = texts().title;
      setOpen(false);
      document.body.append(host);
      queue.splice(0).forEach(run);
      if (config.tracking && config.tracking.enabled) {
        document.head.append(el("script", { src: `${origin}/widget/track.js`, async: "" }));
      }
      if (chat && chat.open) open(null, false);
    })
    .catch(() => { /* no such button, or offline: the page stays as it is */ });
})();
