// Saruna's tracking module, loaded by the widget loader when the account tracks visitors.
// It reports page views and a light heartbeat while the page is visible, hands invitations
// to the loader, and reports conversions (docs/widget.md, docs/visitors.md).
(() => {
  "use strict";
  const saruna = window.saruna;
  if (!saruna || !saruna._ctx || saruna._tracking) return;
  saruna._tracking = true;
  const ctx = saruna._ctx;
  const settings = (ctx.config && ctx.config.tracking) || {};
  const BEAT_MS = 20000;
  const declined = navigator.doNotTrack === "1" || window.doNotTrack === "1" ||
    navigator.globalPrivacyControl === true;
  let pageStart = Date.now();
  let timer = null;
  let started = false;

  const allowed = () => settings.enabled !== false &&
    !(settings.respect_dnt && declined) &&
    (!settings.consent_required || (ctx.consent && ctx.consent.tracking === true));

  const body = (event) => JSON.stringify({
    token: ctx.token, button: ctx.button, event,
    url: location.href, title: document.title.slice(0, 300),
    referrer: document.referrer, screen: `${screen.width}x${screen.height}`,
    lang: navigator.language || "", tz: (Intl.DateTimeFormat().resolvedOptions().timeZone || ""),
    consent: ctx.consent || {}, seconds: Math.round((Date.now() - pageStart) / 1000),
  });

  // text/plain: a "simple" request, so no CORS preflight and sendBeacon can carry it.
  const send = (event) => {
    if (!ctx.token || !allowed()) return Promise.resolve();
    return fetch(`${ctx.origin}/widget/track/`, { method: "POST", body: body(event), credentials: "omit",
      headers: { "Content-Type": "text/plain" }, keepalive: true })
      .then((response) => (response.status === 200 ? response.json() : null))
      .then((answer) => { if (answer && answer.invitation) saruna._emit("invitation", answer.invitation); })
      .catch(() => {});
  };

  // The host site's signed identity (saruna('identify', …)) joins the visitor to the contact.
  let identity = null;
  const identify = () => {
    if (!identity || !ctx.token || !allowed()) return;
    fetch(`${ctx.origin}/widget/identify/`, { method: "POST", credentials: "omit",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ token: ctx.token, identity, consent: ctx.consent || {} }) }).catch(() => {});
  };
  saruna._on("identify", (data) => { identity = data; if (started) identify(); });

  const beat = () => { if (document.visibilityState === "visible") send("ping"); };
  const start = () => {
    if (started || !allowed()) return;
    started = true;
    pageStart = Date.now();
    send("view").then(identify);  // after the page view: one write at a time for this visitor
    timer = setInterval(beat, BEAT_MS);
  };
  const leave = () => {
    if (!started || !allowed()) return;
    const blob = new Blob([body("leave")], { type: "text/plain" });
    if (!navigator.sendBeacon || !navigator.sendBeacon(`${ctx.origin}/widget/track/`, blob)) send("leave");
  };
  addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && started) send("ping");
  });
  saruna._on("consent", () => {
    if (allowed()) start();
    else if (started) { clearInterval(timer); started = false; }
  });

  saruna._on("command:conversion", (data) => {
    if (!ctx.token || !data || data.id === undefined || !allowed()) return;
    fetch(`${ctx.origin}/widget/conversion/`, { method: "POST", credentials: "omit",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ token: ctx.token, id: String(data.id), value: data.value,
                             currency: data.currency || "", consent: ctx.consent || {} }) })
      .then((response) => (response.status === 200 ? response.json() : null))
      .then((answer) => {
        if (!answer) return;
        saruna._ga("saruna_conversion", { transaction_id: answer.id, value: answer.value,
          currency: answer.currency, saruna_chat: answer.chat, saruna_agent: answer.agent,
          saruna_department: answer.department, saruna_attributed: Boolean(answer.chat) });
      })
      .catch(() => {});
  });

  start();
})();
