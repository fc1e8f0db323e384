// The "Online visitors" screen: a list and a world map kept up to date over a WebSocket
// (at most two frames a second, each with the visitors who changed), a visitor's path on
// click, and the invitation to chat. The map's land comes from Natural Earth's outline
// (TopoJSON from the world-atlas package), drawn here in an equirectangular projection.
(() => {
  "use strict";
  const WIDTH = 960;
  const HEIGHT = 480;
  const SVG = "http://www.w3.org/2000/svg";
  const map = document.getElementById("visitor-map");
  const rows = document.querySelector("#visitor-list tbody");
  const detail = document.getElementById("visitor-detail");
  const form = document.getElementById("invite-form");
  const texts = document.getElementById("visitor-texts").dataset;
  const csrf = document.body.dataset.csrf;
  const visitors = new Map();
  let selected = null;
  let clockOffset = 0;  // server time minus browser time, for "time on site"

  const project = (lon, lat) => [(lon + 180) / 360 * WIDTH, (90 - lat) / 180 * HEIGHT];

  // --- the outline: TopoJSON arcs are delta-encoded, quantised integers ---------------------
  const drawOutline = (topology) => {
    const [sx, sy] = topology.transform.scale;
    const [tx, ty] = topology.transform.translate;
    const arcs = topology.arcs.map((arc) => {
      let x = 0; let y = 0;
      return arc.map(([dx, dy]) => { x += dx; y += dy; return project(x * sx + tx, y * sy + ty); });
    });
    const ring = (indexes) => {
      const points = [];
      for (const index of indexes) {
        const arc = index < 0 ? arcs[~index].slice().reverse() : arcs[index];
        points.push(...(points.length ? arc.slice(1) : arc));
      }
      // An edge across the antimeridian would cross the whole map: lift the pen instead.
      return points.map(([x, y], i) => {
        const jump = i === 0 || Math.abs(x - points[i - 1][0]) > WIDTH / 2;
        return `${jump ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
      }).join("") + "Z";
    };
    const land = map.querySelector(".land");
    for (const object of Object.values(topology.objects)) {
      const geometries = object.type === "GeometryCollection" ? object.geometries : [object];
      for (const geometry of geometries) {
        const polygons = geometry.type === "Polygon" ? [geometry.arcs] : geometry.arcs || [];
        const d = polygons.map((polygon) => polygon.map(ring).join("")).join("");
        const path = document.createElementNS(SVG, "path");
        path.setAttribute("d", d);
        land.append(path);
      }
    }
  };
  fetch(map.dataset.outline, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((topology) => { if (topology) drawOutline(topology); })
    .catch(() => {});

  // --- the list --------------------------------------------------------------------------
  const duration = (seconds) => {
    const minutes = Math.floor(seconds / 60);
    return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
      : `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
  };
  const onSite = (visitor) => Math.max(0, Math.round(Date.now() / 1000 + clockOffset - visitor.started));
  const cell = (className, text, title) => {
    const td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    if (title) td.title = title;
    return td;
  };
  const renderRow = (visitor) => {
    const tr = document.createElement("tr");
    tr.dataset.visitor = visitor.id;
    tr.tabIndex = 0;
    tr.classList.toggle("selected", visitor.id === selected);
    const who = visitor.name ? `${visitor.name} · ` : "";
    tr.append(
      cell("v-place", who + (visitor.place || texts.unknown)),
      cell("v-page", visitor.title || visitor.url, visitor.url),
      cell("v-time", duration(onSite(visitor))),
      cell("v-pages", String(visitor.pages)),
      cell("v-source", visitor.source),
      cell("v-returning", visitor.returning ? texts.returning : texts.new),
      cell(visitor.chatting ? "v-chat badge-chat" : "v-chat",
           visitor.chatting ? texts.chatting : (visitor.invited ? texts.invited : "")),
    );
    return tr;
  };
  const renderList = () => {
    const ordered = [...visitors.values()].sort((a, b) => a.started - b.started);
    rows.replaceChildren(...ordered.map(renderRow));
    document.getElementById("visitor-count").textContent = String(ordered.length);
    document.getElementById("no-visitors").hidden = ordered.length > 0;
  };

  // --- the map: one dot per place cell, sized by how many are there -----------------------
  const CELL = 12;  // pixels: visitors closer than this on the map share a dot
  const renderMap = () => {
    const clusters = new Map();
    for (const visitor of visitors.values()) {
      if (visitor.lat === null || visitor.lon === null) continue;
      const [x, y] = project(visitor.lon, visitor.lat);
      const key = `${Math.round(x / CELL)}:${Math.round(y / CELL)}`;
      const cluster = clusters.get(key) || { x: 0, y: 0, ids: [], chatting: false };
      cluster.x += x; cluster.y += y; cluster.ids.push(visitor.id);
      cluster.chatting = cluster.chatting || visitor.chatting;
      clusters.set(key, cluster);
    }
    // Dots are drawn anew on every update: the one that had the focus gets it back.
    const focused = document.activeElement?.closest?.(".dot")?.dataset.cell;
    const dots = [];
    for (const [cell, cluster] of clusters) {
      const n = cluster.ids.length;
      const group = document.createElementNS(SVG, "g");
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", (cluster.x / n).toFixed(1));
      dot.setAttribute("cy", (cluster.y / n).toFixed(1));
      dot.setAttribute("r", String(Math.min(24, 5 + 3 * Math.sqrt(n))));
      dot.setAttribute("class", `dot${cluster.chatting ? " chatting" : ""}${cluster.ids.includes(selected) ? " selected" : ""}`);
      dot.dataset.visitors = cluster.ids.join(" ");
      dot.dataset.cell = cell;
      const title = document.createElementNS(SVG, "title");
      title.textContent = n === 1 ? (visitors.get(cluster.ids[0]).place || texts.unknown)
        : `${n} ${texts.visitors}`;
      dot.append(title);
      dot.setAttribute("tabindex", "0");
      dot.setAttribute("role", "button");
      dot.setAttribute("aria-label", title.textContent);
      group.append(dot);
      if (n > 1) {
        const label = document.createElementNS(SVG, "text");
        label.setAttribute("x", (cluster.x / n).toFixed(1));
        label.setAttribute("y", (cluster.y / n).toFixed(1));
        label.textContent = String(n);
        group.append(label);
      }
      dots.push(group);
    }
    map.querySelector(".dots").replaceChildren(...dots);
    if (focused) map.querySelector(`.dot[data-cell="${focused}"]`)?.focus();
  };

  // --- one visitor: the path and the invitation --------------------------------------------
  const renderDetail = () => {
    const visitor = visitors.get(selected);
    detail.hidden = !visitor;
    if (!visitor) return;
    detail.dataset.visitor = visitor.id;
    detail.querySelector("#detail-title").textContent = visitor.name || visitor.place || texts.unknown;
    detail.querySelector(".d-place").textContent = visitor.place || texts.unknown;
    detail.querySelector(".d-source").textContent = visitor.source;
    detail.querySelector(".d-device").textContent = visitor.device;
    detail.querySelector(".path").replaceChildren(...(visitor.path || []).map((page) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = new Date(page.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const link = document.createElement("a");
      link.href = page.url; link.target = "_blank"; link.rel = "noopener noreferrer";
      link.textContent = page.title || page.url; link.title = page.url;
      li.append(time, link);
      return li;
    }));
    form.querySelector("#invite").disabled = visitor.chatting;
  };
  let socket = null;
  // The server sends the open visitor's path (frames list visitors without theirs).
  const watch = () => {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "watch", visitor: selected }));
    }
  };
  const select = (id) => {
    selected = id;
    form.querySelector(".invite-result").textContent = "";
    watch();
    render();
  };
  rows.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-visitor]");
    if (tr) select(tr.dataset.visitor);
  });
  rows.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr[data-visitor]");
    if (tr && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); select(tr.dataset.visitor); }
  });
  // A dot of several visitors selects them one after another, click after click.
  const selectFromDot = (dot) => {
    const ids = dot.dataset.visitors.split(" ");
    select(ids[(ids.indexOf(selected) + 1) % ids.length]);
  };
  map.addEventListener("click", (event) => {
    const dot = event.target.closest(".dot");
    if (dot) selectFromDot(dot);
  });
  map.addEventListener("keydown", (event) => {
    const dot = event.target.closest(".dot");
    if (dot && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); selectFromDot(dot); }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!selected) return;
    const result = form.querySelector(".invite-result");
    fetch(form.dataset.urlTemplate.replace("VISITOR", encodeURIComponent(selected)), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      body: new URLSearchParams({ text: form.querySelector("#invite-text").value }),
    })
      .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
      .then(({ ok, data }) => { result.textContent = ok ? texts.sent : data.message; })
      .catch(() => {});
  });

  const render = () => { renderList(); renderMap(); renderDetail(); };
  setInterval(() => {
    for (const tr of rows.children) {
      const visitor = visitors.get(tr.dataset.visitor);
      if (visitor) tr.querySelector(".v-time").textContent = duration(onSite(visitor));
    }
  }, 1000);

  // --- the live connection ------------------------------------------------------------------
  let retry = 1000;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/visitors/`);
    socket.addEventListener("open", () => { retry = 1000; visitors.clear(); watch(); });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "path") {
        const visitor = visitors.get(frame.visitor);
        if (visitor) { visitor.path = frame.path; renderDetail(); }
        return;
      }
      if (frame.type !== "visitors") return;
      clockOffset = frame.now - Date.now() / 1000;
      for (const id of frame.removed) visitors.delete(id);
      for (const visitor of frame.changed) {
        if (!("path" in visitor)) visitor.path = visitors.get(visitor.id)?.path || [];
        visitors.set(visitor.id, visitor);
      }
      render();
    });
    socket.addEventListener("close", () => {
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  };
  connect();
  render();
})();
