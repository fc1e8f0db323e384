// The agent inbox in the browser: keyboard shortcuts, live updates from the agent socket
// (saruna:event, dispatched by web/agent.js), the collision warning and the rich-text
// composer (contenteditable with a small toolbar; no editor library). Everything shown is
// rendered by the server: live updates fetch the changed row or ticket part and swap it in.
(() => {
  "use strict";
  const inbox = document.getElementById("inbox");
  if (!inbox) return;
  const socket = () => window.sarunaSocket || { send() {} };
  const TYPING_MS = 6000;

  const pane = () => document.getElementById("ticket-pane");
  const openTicket = () => pane()?.dataset.ticket || null;
  const listQuery = () => document.getElementById("ticket-list")?.dataset.query || "";
  const urlFor = (template, id) => template.replace("TICKET", encodeURIComponent(id));

  // Replaces each element of `html` that has an id with the page's element of that id.
  const fragment = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  };
  const swapById = (html) => {
    for (const fresh of [...fragment(html).children]) {
      const old = fresh.id && document.getElementById(fresh.id);
      if (!old) continue;
      old.replaceWith(fresh);
      htmx.process(fresh);
    }
  };
  const get = (url) => fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });

  // --- live updates ---------------------------------------------------------------------
  // A row's data-sort-key is a JSON list that orders rows as the server's query does when
  // compared item by item; null (no due date) sorts last.
  const sortKey = (row) => JSON.parse(row.dataset.sortKey || "[]");
  const compareKeys = (a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
      if (a[i] === b[i]) continue;
      if (a[i] === null) return 1;
      if (b[i] === null) return -1;
      return a[i] < b[i] ? -1 : 1;
    }
    return 0;
  };
  // Puts `row` where the sort puts it on this page; false when it sorts before the page's
  // first row with pages before, or after its last row with pages after (or a full page).
  const placeRow = (rows, row) => {
    const key = sortKey(row);
    const others = [...rows.querySelectorAll(".ticket-row")];
    const next = others.find((other) => compareKeys(key, sortKey(other)) < 0);
    if (next && next === others[0] && "moreBefore" in rows.dataset) return false;
    const full = others.length >= Number(rows.dataset.pageSize);
    if (!next && ("moreAfter" in rows.dataset || full)) return false;
    rows.querySelector(".empty-row")?.remove();
    if (next) next.before(row);
    else rows.append(row);
    return true;
  };
  const rowRequests = new Map();  // ticket id -> latest request, so a late answer is dropped
  const refreshRow = async (id) => {
    const request = {};
    rowRequests.set(id, request);
    const query = listQuery();
    const response = await get(`${urlFor(inbox.dataset.rowUrl, id)}?${query}`);
    // 204: not in this view or search; 404: out of the agent's sight.
    const html = response.status === 200 ? await response.text() : "";
    if (rowRequests.get(id) !== request || listQuery() !== query) return;
    rowRequests.delete(id);
    document.getElementById(`row-${id}`)?.remove();
    const fresh = fragment(html).firstElementChild;
    const rows = document.getElementById("ticket-rows");
    if (!fresh || !rows || !placeRow(rows, fresh)) return;
    if (openTicket() === id) fresh.classList.add("current");
    fresh.classList.add("flash");
    htmx.process(fresh);
  };
  let navTimer;
  const refreshCounts = () => {
    clearTimeout(navTimer);
    navTimer = setTimeout(async () => {
      const list = document.getElementById("ticket-list");
      const view = encodeURIComponent(list?.dataset.view || "all");
      const response = await get(`${inbox.dataset.navUrl}?part=nav&view=${view}`);
      if (response.ok) swapById(await response.text());
    }, 300);
  };
  const refreshTicket = async (id) => {
    const response = await get(`${urlFor(inbox.dataset.detailUrl, id)}?part=live&${listQuery()}`);
    if (response.ok && openTicket() === id) swapById(await response.text());
  };

  // --- presence: who else is viewing or replying ------------------------------------------
  const present = new Map();  // user id -> {name, typingUntil}
  const showPresence = () => {
    const line = document.getElementById("presence");
    if (!line) return;
    const now = Date.now();
    const typing = [...present.values()].filter((p) => p.typingUntil > now);
    const shown = typing.length ? typing : [...present.values()];
    const format = typing.length ? line.dataset.typing : line.dataset.viewing;
    line.textContent = shown.map((p) => format.replace("%(name)s", p.name)).join(" · ");
    line.classList.toggle("typing", typing.length > 0);
  };
  setInterval(showPresence, 1000);

  const watch = () => {
    present.clear();
    showPresence();
    socket().send({ type: "watch", ticket: openTicket() });
  };

  document.addEventListener("saruna:event", (event) => {
    const data = event.detail;
    if (data.type === "socket.open") { watch(); return; }
    if (data.type === "ticket.changed") {
      const id = data.ticket.id;
      refreshRow(id);
      refreshCounts();
      if (openTicket() === id) refreshTicket(id);
    } else if (data.type === "presence" && data.ticket === openTicket()) {
      if (data.state === "left") present.delete(data.user);
      else {
        const known = present.get(data.user) || { typingUntil: 0 };
        present.set(data.user, {
          name: data.name,
          typingUntil: data.state === "typing" ? Date.now() + TYPING_MS : known.typingUntil,
        });
      }
      showPresence();
    }
  });

  // A new ticket in the pane: watch it, mark its row, and on a phone show the pane.
  let watched = openTicket();
  document.body.addEventListener("htmx:afterSettle", () => {
    const id = openTicket();
    inbox.classList.toggle("has-ticket", Boolean(id));
    document.querySelectorAll(".ticket-row.current").forEach((r) => r.classList.remove("current"));
    if (id) document.getElementById(`row-${id}`)?.classList.add("current");
    if (id !== watched) { watched = id; watch(); }
    syncBulk();
  });
  watch();

  // Typing in the composer tells the others, at most every two seconds.
  let lastTyping = 0;
  document.addEventListener("input", (event) => {
    const composer = event.target.closest("#composer");
    if (!composer || event.target.type === "file") return;
    if (event.target.closest("[contenteditable]")) syncEditor(composer);
    if (Date.now() - lastTyping > 2000) {
      lastTyping = Date.now();
      socket().send({ type: "typing" });
    }
  });

  // --- rich-text composer ---------------------------------------------------------------
  // Progressive enhancement: without JavaScript the plain textarea is posted. Here the
  // textarea hides, the contenteditable editor shows, and the editor's HTML is mirrored into
  // the hidden body_html field, which the server sanitises (nothing from here is trusted).
  const richArea = (composer) => {
    const wrap = composer?.querySelector("[data-rich-editor]");
    return wrap && !wrap.hidden ? wrap.querySelector("[contenteditable]") : null;
  };
  const syncEditor = (composer) => {
    const area = richArea(composer);
    if (!area) return;
    const empty = !area.textContent.trim() && !area.querySelector("img");
    composer.querySelector("[data-editor-html]").value = empty ? "" : area.innerHTML;
    composer.querySelector("textarea").value = area.innerText;
  };
  const setupComposer = () => {
    const composer = document.getElementById("composer");
    const wrap = composer?.querySelector("[data-rich-editor]");
    if (!wrap || composer.dataset.rich) return;
    composer.dataset.rich = "1";
    const area = wrap.querySelector("[contenteditable]");
    const box = composer.querySelector("textarea");
    // After a refused send the form comes back with the (server-sanitised) HTML or text.
    const html = composer.querySelector("[data-editor-html]").value;
    if (html) area.innerHTML = html;
    else if (box.value) area.innerText = box.value;
    box.hidden = true;
    wrap.hidden = false;
    composer.querySelectorAll("[data-answer]").forEach((picker) => { picker.hidden = false; });
    markNote();
  };
  try { document.execCommand("defaultParagraphSeparator", false, "p"); } catch (_) { /* old browsers */ }

  // The editor's last selection, so toolbar buttons and pickers act where the caret was.
  let savedRange = null;
  const inEditor = (node) => Boolean(node && document.getElementById("reply-editor")?.contains(node));
  const restoreSelection = (area) => {
    const selection = document.getSelection();
    if (selection.rangeCount && area.contains(selection.anchorNode)) return;
    selection.removeAllRanges();
    if (savedRange && area.contains(savedRange.startContainer)) { selection.addRange(savedRange); return; }
    const end = document.createRange();
    end.selectNodeContents(area);
    end.collapse(false);
    selection.addRange(end);
  };
  const updateToolbar = () => {
    document.querySelectorAll(".rich-toolbar [aria-pressed]").forEach((button) => {
      let on = false;
      try { on = document.queryCommandState(button.dataset.command); } catch (_) { /* unsupported */ }
      button.setAttribute("aria-pressed", String(on));
    });
  };
  document.addEventListener("selectionchange", () => {
    const selection = document.getSelection();
    if (selection.rangeCount && inEditor(selection.anchorNode)) {
      savedRange = selection.getRangeAt(0).cloneRange();
      updateToolbar();
    }
  });

  // Links: http(s) and mailto only; a bare "example.com" becomes https://example.com.
  const linkAddress = (input) => {
    const value = (input || "").trim();
    if (!value || value === "https://") return null;
    if (/^(https?:\/\/|mailto:)/i.test(value)) return value;
    if (/^[a-z][a-z0-9+-]*:/i.test(value)) return null;
    return `https://${value}`;
  };
  const insertLink = (address) => {
    const selection = document.getSelection();
    if (!selection.isCollapsed) { document.execCommand("createLink", false, address); return; }
    const link = document.createElement("a");
    link.href = address;
    link.textContent = address;
    const range = selection.getRangeAt(0);
    range.insertNode(link);
    range.setStartAfter(link);
    range.collapse(true);
    selection.removeAllRanges();
    selection.addRange(range);
  };
  const runCommand = (button) => {
    const composer = button.closest("#composer");
    const area = richArea(composer);
    if (!area) return;
    area.focus();
    restoreSelection(area);
    const command = button.dataset.command;
    if (command === "createLink") {
      const address = linkAddress(window.prompt(button.closest("[role=toolbar]").dataset.linkPrompt, "https://"));
      area.focus();
      restoreSelection(area);
      if (address) insertLink(address);
    } else if (command === "removeFormat") {
      document.execCommand("removeFormat");
      document.execCommand("unlink");
    } else {
      document.execCommand(command);
    }
    syncEditor(composer);
    updateToolbar();
  };
  // Toolbar buttons keep the editor's focus and selection when clicked with the mouse.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest(".rich-toolbar button")) event.preventDefault();
  });
  // The toolbar is one tab stop; arrow keys, Home and End move between its buttons.
  document.addEventListener("keydown", (event) => {
    const toolbar = event.target.closest?.(".rich-toolbar");
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: "first", End: "last" };
    if (!toolbar || !(event.key in moves)) return;
    const buttons = [...toolbar.querySelectorAll("button")];
    const at = buttons.indexOf(event.target.closest("button"));
    const step = moves[event.key];
    const next = step === "first" ? 0 : step === "last" ? buttons.length - 1
      : (at + step + buttons.length) % buttons.length;
    buttons.forEach((button, i) => { button.tabIndex = i === next ? 0 : -1; });
    buttons[next].focus();
    event.preventDefault();
  });
  // The editor's HTML is in the form before HTMX (or the browser) reads it.
  document.addEventListener("submit", (event) => {
    if (event.target.id === "composer") syncEditor(event.target);
  }, true);

  // Nodes go in as they are (insertHTML would wrap them in spans of computed styles).
  const insertNodes = (content) => {
    const selection = document.getSelection();
    const range = selection.getRangeAt(0);
    range.deleteContents();
    // Not into a link the caret is in (a paragraph inside an <a> would be a link too).
    const start = range.startContainer;
    const link = (start.nodeType === Node.ELEMENT_NODE ? start : start.parentElement)?.closest("#reply-editor a");
    if (link) { range.setStartAfter(link); range.collapse(true); }
    const last = content.lastChild;
    range.insertNode(content);
    if (!last) return;
    range.setStartAfter(last);
    range.collapse(true);
    selection.removeAllRanges();
    selection.addRange(range);
  };
  // Canned messages (text) and predefined answers (HTML from the server) go in at the caret.
  const insertIntoComposer = ({ text, html }) => {
    const composer = document.getElementById("composer");
    const area = richArea(composer);
    if (area) {
      area.focus();
      restoreSelection(area);
      if (html) insertNodes(fragment(html));
      else document.execCommand("insertText", false, text);
      syncEditor(composer);
      return;
    }
    const box = composer?.querySelector("textarea");
    if (!box || !text) return;
    const at = box.selectionStart ?? box.value.length;
    box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd ?? at);
    box.focus();
  };
  // A predefined answer brings its subject too (when it has one) for the reply's mail.
  const insertAnswer = async (url) => {
    const response = await get(url);
    if (!response.ok) return;
    const answer = await response.json();
    insertIntoComposer({ html: answer.html });
    const subject = document.querySelector("#composer [name=subject]");
    if (answer.subject && subject) {
      subject.value = answer.subject;
      subject.closest("details").open = true;
    }
  };

  // --- pasting --------------------------------------------------------------------------
  // Pasted HTML keeps the structure the server keeps (tickets/html.py) and loses the rest
  // (styles, classes, scripts, handlers, data: images), so the agent sees what is sent.
  // span and font go (without their styles they would say nothing).
  const PASTE_TAGS = new Set(["a", "abbr", "b", "blockquote", "br", "caption", "code", "del",
    "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p",
    "pre", "q", "s", "small", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul"]);
  // Gone with their content rather than unwrapped into text.
  const PASTE_DROP = new Set(["script", "style", "head", "title", "noscript", "template",
    "iframe", "object", "embed", "svg", "math", "select", "textarea", "frameset", "meta", "link"]);
  const PASTE_ATTRIBUTES = { a: ["href"], td: ["colspan", "rowspan"], th: ["colspan", "rowspan"],
    ol: ["start"] };
  const PASTE_URLS = { href: /^(https?:|mailto:|tel:)/i, src: /^https?:\/\//i };
  // Bold, italic and underline said in a style (Docs, Office) on an element that goes.
  const STYLE_TAGS = [
    ["b", (style) => /^(bold|bolder|[6-9]00)$/.test(style.fontWeight)],
    ["i", (style) => style.fontStyle === "italic"],
    ["u", (style) => /underline/.test(style.textDecorationLine)],
  ];
  const cleanPasted = (source, target) => {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { target.append(node.data); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE || PASTE_DROP.has(node.localName)) continue;
      const tag = node.localName;
      const style = node.style || {};
      const make = (name) => target.ownerDocument.createElement(name);
      let into = target;
      // Docs wraps a whole copy in <b style="font-weight:normal">.
      const notBold = ["b", "strong"].includes(tag) && /^(normal|[1-5]00)$/.test(style.fontWeight);
      if (!PASTE_TAGS.has(tag) || notBold) {
        for (const [name, says] of STYLE_TAGS) {
          if (says(style)) into = into.appendChild(make(name));
        }
      } else if (tag === "img") {
        const src = (node.getAttribute("src") || "").trim();
        if (!PASTE_URLS.src.test(src)) continue;
        const image = into.appendChild(make("img"));
        image.setAttribute("src", src);
        for (const name of ["alt", "width", "height"]) {
          if (node.hasAttribute(name)) image.setAttribute(name, node.getAttribute(name));
        }
        continue;
      } else {
        const element = make(tag);
        for (const name of PASTE_ATTRIBUTES[tag] || []) {
          const value = (node.getAttribute(name) || "").trim();
          if (value && (!PASTE_URLS[name] || PASTE_URLS[name].test(value))) {
            element.setAttribute(name, value);
          }
        }
        // A link without a safe address keeps its text only.
        if (tag !== "a" || element.hasAttribute("href")) into = into.appendChild(element);
      }
      cleanPasted(node, into);
    }
    return target;
  };
  document.addEventListener("paste", (event) => {
    const area = event.target.closest?.("#reply-editor");
    if (!area) return;
    event.preventDefault();
    const data = event.clipboardData;
    const html = data.getData("text/html");
    if (html) {
      // Parsed inert (nothing runs or loads) and rebuilt in an inert template.
      const pasted = new DOMParser().parseFromString(html, "text/html").body;
      const clean = cleanPasted(pasted, document.createElement("template").content);
      if (clean.textContent.trim() || clean.querySelector("img")) {
        insertNodes(clean);
        syncEditor(area.closest("#composer"));
        return;
      }
    }
    document.execCommand("insertText", false, data.getData("text/plain"));
  });

  // --- composer helpers -----------------------------------------------------------------
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-canned]")) {
      const option = target.selectedOptions[0];
      if (option?.dataset.text) insertIntoComposer({ text: option.dataset.text });
      target.value = "";
    } else if (target.matches("[data-answer]")) {
      const option = target.selectedOptions[0];
      if (option?.dataset.url) insertAnswer(option.dataset.url);
      target.value = "";
    } else if (target.matches("#composer input[name=note]")) {
      markNote();
    } else if (target.matches("#inbox-sort")) {
      target.form.requestSubmit();
    } else if (target.matches("#bulk-form select[name=action]")) {
      syncBulk();
    } else if (target.matches("[data-check-all]")) {
      document.querySelectorAll("#ticket-rows input[name=tickets]").forEach((box) => { box.checked = target.checked; });
    }
  });
  const markNote = () => {
    const composer = document.getElementById("composer");
    if (!composer) return;
    const note = composer.querySelector("input[name=note]").checked;
    composer.classList.toggle("is-note", note);
    composer.querySelector("[data-reply-only]").hidden = note;
    const send = composer.querySelector("button[name=send]");
    send.textContent = note ? send.dataset.noteLabel : send.dataset.replyLabel;
  };
  const syncBulk = () => {
    const form = document.getElementById("bulk-form");
    if (form) form.dataset.action = form.querySelector("select[name=action]").value;
  };
  syncBulk();
  setupComposer();
  document.body.addEventListener("htmx:afterSettle", setupComposer);

  // Remote images stay unloaded until asked for, and only http(s) addresses are loaded.
  document.addEventListener("click", (event) => {
    const toolButton = event.target.closest(".rich-toolbar button");
    if (toolButton) { runCommand(toolButton); return; }
    if (event.target.matches("[data-remote-images]")) {
      document.querySelectorAll("#ticket-conversation img[data-remote-src]").forEach((img) => {
        if (/^https?:\/\//i.test(img.dataset.remoteSrc)) img.src = img.dataset.remoteSrc;
      });
      event.target.hidden = true;
    } else if (event.target.matches("[data-close-help]")) {
      help(false);
    }
  });
  const offerRemoteImages = () => {
    const button = document.querySelector("[data-remote-images]");
    if (button) button.hidden = !document.querySelector("#ticket-conversation img[data-remote-src]:not([src])");
  };
  document.body.addEventListener("htmx:afterSettle", offerRemoteImages);
  offerRemoteImages();

  // --- keyboard shortcuts ---------------------------------------------------------------
  const overlay = document.getElementById("shortcut-help");
  const help = (show) => { overlay.hidden = !show; };
  const moveSelection = (step) => {
    const rows = [...document.querySelectorAll("#ticket-rows .ticket-row")];
    if (!rows.length) return;
    const at = rows.findIndex((r) => r.classList.contains("current"));
    const next = rows[Math.min(rows.length - 1, Math.max(0, at + step))];
    next.querySelector("a.subject").click();
    next.scrollIntoView({ block: "nearest" });
  };
  const compose = (note) => {
    const composer = document.getElementById("composer");
    if (!composer) return;
    composer.querySelector("input[name=note]").checked = note;
    markNote();
    (richArea(composer) || composer.querySelector("textarea")).focus();
  };
  const click = (selector) => document.querySelector(selector)?.click();
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { help(false); return; }
    const typing = event.target.closest("input, textarea, select, [contenteditable], [role=toolbar]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const handlers = {
      j: () => moveSelection(1),
      k: () => moveSelection(-1),
      r: () => compose(false),
      n: () => compose(true),
      e: () => click("[data-shortcut=resolve]:not([disabled])"),
      a: () => click("[data-shortcut=assign-me]"),
      "/": () => document.getElementById("inbox-search")?.focus(),
      "?": () => help(overlay.hidden),
    };
    if (handlers[event.key]) { event.preventDefault(); handlers[event.key](); }
  });

  // On a phone the saved views start folded.
  if (window.matchMedia("(max-width: 900px)").matches) {
    document.querySelector(".views-toggle")?.removeAttribute("open");
  }
})();
