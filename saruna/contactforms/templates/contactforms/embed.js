/* Saruna contact form: renders the form in a shadow root (the page's CSS cannot reach it) and
   posts it with fetch, without cookies. */
(function (c) {
  "use strict";
  var me = document.currentScript ||
    document.querySelector('script[src*="/f/' + c.id + '/embed.js"]');
  var box = document.createElement("div");
  me.parentNode.insertBefore(box, me.nextSibling);
  var root = box.attachShadow({mode: "open"});
  function h(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text) el.textContent = text;
    return el;
  }
  root.appendChild(h("style", {}, ":host{all:initial;display:block;font:16px/1.4 system-ui,sans-serif;color:#1d2330}" +
    "p{margin:0 0 .8em}label{display:block;font-weight:600;margin-bottom:.2em}.check label{display:inline;font-weight:normal}" +
    "input,select,textarea{box-sizing:border-box;width:100%;font:inherit;padding:.45em;border:1px solid #8a93a3;border-radius:4px}" +
    "input[type=checkbox]{width:auto}[aria-invalid=true]{border-color:#b3261e}.err,.msg{color:#b3261e}" +
    "button{font:inherit;padding:.5em 1.2em;border:0;border-radius:4px;background:#2456c9;color:#fff;cursor:pointer}" +
    "button:disabled{opacity:.6}:focus-visible{outline:2px solid #2456c9;outline-offset:2px}.hp{position:absolute;left:-10000px}"));
  var form = h("form"), inputs = {};
  c.fields.forEach(function (f) {
    var id = "f-" + f.key, p = h("p"), input;
    if (f.type === "textarea") input = h("textarea", {rows: "6"});
    else if (f.type === "select") {
      input = h("select");
      [""].concat(f.choices).forEach(function (v) { input.appendChild(h("option", {value: v}, v || "—")); });
    } else input = h("input", {type: f.type === "checkbox" ? "checkbox" : f.type === "email" ? "email" : "text"});
    input.id = id;
    input.name = f.key;
    input.required = f.required;
    if (f.key === "email" || f.key === "name") input.autocomplete = f.key;
    var label = h("label", {"for": id}, f.label), err = h("span", {"class": "err", id: id + "-err"});
    if (f.type === "checkbox") { p.className = "check"; p.append(input, " ", label, err); }
    else p.append(label, input, err);
    form.appendChild(p);
    inputs[f.key] = {input: input, err: err};
  });
  var hp = h("div", {"class": "hp", "aria-hidden": "true"});
  hp.append(h("label", {"for": "f-website"}, c.text.honeypot),
            h("input", {id: "f-website", name: "website", tabindex: "-1", autocomplete: "off"}));
  var started = h("input", {type: "hidden", name: "started", value: c.started});
  var msg = h("p", {"class": "msg", role: "alert"}), button = h("button", {type: "submit"}, c.text.send);
  form.append(hp, started, msg, button);
  root.appendChild(form);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    msg.textContent = "";
    Object.keys(inputs).forEach(function (k) {
      inputs[k].err.textContent = "";
      inputs[k].input.removeAttribute("aria-invalid");
      inputs[k].input.removeAttribute("aria-describedby");
    });
    button.disabled = true;
    button.textContent = c.text.sending;
    fetch(c.action, {method: "POST", body: new FormData(form), credentials: "omit",
                     headers: {Accept: "application/json"}})
      .then(function (r) { return r.json().then(function (d) { return {ok: r.ok, d: d}; }); })
      .then(function (res) {
        if (res.ok) {
          var done = h("p", {role: "status", tabindex: "-1"}, res.d.message);
          form.replaceWith(done);
          done.focus();
          return;
        }
        if (res.d.started) started.value = res.d.started;
        msg.textContent = res.d.message;
        var first = null;
        Object.keys(res.d.errors || {}).forEach(function (k) {
          var x = inputs[k];
          if (!x) return;
          x.err.textContent = res.d.errors[k].join(" ");
          x.input.setAttribute("aria-invalid", "true");
          x.input.setAttribute("aria-describedby", x.err.id);
          first = first || x.input;
        });
        if (first) first.focus();
      })
      .catch(function () { msg.textContent = c.text.failed; })
      .then(function () { button.disabled = false; button.textContent = c.text.send; });
  });
})(__CONFIG__);
