// "Add a card" through Stripe on My account. The card fields are Stripe.js's own element, so
// the number goes from the browser to Stripe only: Saruna starts a SetupIntent, Stripe.js
// confirms it with the card, and Saruna then saves the card by the SetupIntent's id.
// Stripe.js is loaded on the first click, from the URL the setup names.
(() => {
  "use strict";
  const box = document.querySelector("[data-card-setup]");
  if (!box) return;
  const start = box.querySelector("[data-card-start]");
  const form = box.querySelector("[data-card-form]");
  const errorLine = box.querySelector("[data-card-error]");
  let stripe = null;
  let card = null;
  let setup = null;

  const showError = (message) => {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  };

  // Saruna answers {error: "..."} in words for the owner when it refuses.
  const post = async (url, fields) => {
    let response;
    try {
      response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": document.body.dataset.csrf },
        body: new URLSearchParams(fields || {}),
      });
    } catch {
      throw new Error(box.dataset.failed);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || box.dataset.failed);
    return body;
  };

  const loadStripe = (url) => new Promise((resolve, reject) => {
    if (window.Stripe) { resolve(); return; }
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(box.dataset.failed));
    document.head.append(script);
  });

  start.addEventListener("click", async () => {
    start.disabled = true;
    showError("");
    try {
      setup = await post(box.dataset.setupUrl);
      await loadStripe(setup.script_url);
      stripe ||= window.Stripe(setup.publishable_key,
                               { locale: document.documentElement.lang || "auto" });
      if (!card) {
        card = stripe.elements().create("card");
        card.mount(box.querySelector("[data-card-element]"));
      }
      form.hidden = false;
      start.hidden = true;
    } catch (error) {
      showError(error.message);
      start.disabled = false;
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = form.querySelector("button");
    save.disabled = true;
    showError("");
    try {
      const result = await stripe.confirmCardSetup(setup.client_secret,
                                                   { payment_method: { card } });
      // Stripe.js's messages are written for the card holder, in the page's language.
      if (result.error) throw new Error(result.error.message || box.dataset.failed);
      const saved = await post(box.dataset.confirmUrl, { setup_intent: result.setupIntent.id });
      window.location.assign(saved.next);
    } catch (error) {
      showError(error.message);
      save.disabled = false;
    }
  });
})();
