// The Waygate portal: one page over the admin API. It polls /v1/stats every two seconds (the
// cards, the clients, a live tail on each chart) and the 10-second series, the directory and the
// access graph less often. Everything it shows comes from the JSON API; it keeps no state of its
// own but the admin token, in the tab's sessionStorage.
import uPlot from "uplot";
import cytoscape from "cytoscape";
import "uplot/dist/uPlot.min.css";
import "./portal.css";

const POLL_MS = 2000;
const SLOW_EVERY = 5;  // series, sockets, peers, policies and graph every 5th poll

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};

// --- the API, with the admin token when the connector asks for one -----------------------------

let token = sessionStorage.getItem("waygate-token") || "";

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) throw new Unauthorized();
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text.trim() }; }
  return { status: res.status, body };
}

function askToken() {
  const dialog = $("#token-dialog");
  if (dialog.open) return;
  dialog.showModal();
  $("#token-form").onsubmit = () => {
    token = new FormData($("#token-form")).get("token");
    sessionStorage.setItem("waygate-token", token);
    tick(true);
  };
}

// --- formatting -------------------------------------------------------------------------------

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
const rate = (n) => `${bytes(n)}/s`;

function ago(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

// --- exit nodes: a card and a chart each -------------------------------------------------------

const cards = new Map();  // socket name -> { root, plot, series, live, last }

function chartSize(box) { return { width: Math.max(280, box.clientWidth), height: 190 }; }

// Upload above the axis, download mirrored below it: both stay visible when they are alike.
function makePlot(box) {
  const abs = (v) => (v === null ? "-" : rate(Math.abs(v)));
  const opts = {
    ...chartSize(box),
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: {
      x: { time: true, range: (u, min, max) => xRange(min) },
      y: { range: (u, min, max) => { const m = Math.max(1024, Math.abs(min), Math.abs(max)) * 1.15; return [-m, m]; } },
    },
    axes: [
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#eef0f3" }, space: 90,
        values: (u, splits) => splits.map((t) => clock(t, u.scales.x.max - u.scales.x.min < 600)) },
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#eef0f3" }, size: 80,
        values: (u, splits) => splits.map((v) => rate(Math.abs(v))) },
    ],
    series: [
      {},
      { label: "Upload", stroke: "#2563eb", fill: "rgba(37,99,235,0.14)", width: 2, points: { show: false }, value: (u, v) => abs(v) },
      { label: "Download", stroke: "#059669", fill: "rgba(5,150,105,0.14)", width: 2, points: { show: false }, value: (u, v) => abs(v) },
    ],
  };
  return new uPlot(opts, [[], [], []], box);
}

function clock(t, seconds) {
  const d = new Date(t * 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}${seconds ? ":" + two(d.getSeconds()) : ""}`;
}

// The last two minutes at least, the last hour at most, always ending now.
function xRange(first) {
  const now = Date.now() / 1000;
  const span = Math.min(3600, Math.max(120, now - (Number.isFinite(first) ? first : now)));
  return [now - span, now];
}

function card(sock) {
  let c = cards.get(sock.name);
  if (c) return c;
  const chart = el("div", { class: "chart" });
  const root = el("article", { class: "card socket", "data-socket": sock.name },
    el("div", { class: "socket-head" },
      el("div", {}, el("h3", { textContent: sock.name }), el("p", { class: "desc" })),
      el("div", { class: "head-side" }, captureButton({ socket: sock.name }, sock.name),
        el("span", { class: `badge ${sock.type}`, textContent: sock.type === "exit_node" ? "exit node" : "subnet router" }))),
    el("dl", { class: "facts" }),
    el("div", { class: "totals" }),
    el("div", { class: "now" }),
    chart);
  $("#sockets").append(root);
  c = { root, chart, plot: makePlot(chart), series: [], live: [], last: null };
  cards.set(sock.name, c);
  return c;
}

function fact(dl, name, value) {
  dl.append(el("dt", { textContent: name }), el("dd", { textContent: value || "—" }));
}

function renderSocket(sock, info) {
  const c = card(sock);
  $(".desc", c.root).textContent = sock.description || "No description";
  const dl = $(".facts", c.root);
  dl.replaceChildren();
  fact(dl, sock.connectors.length > 1 ? "Connectors" : "Connector", sock.connectors.join(", "));
  fact(dl, "Egress", info && info.egress ? info.egress.join(", ") : "");
  if (sock.type === "subnet_router") fact(dl, "Routes", info && info.routes ? info.routes.join(", ") : "");
  else fact(dl, "Reaches", info && info.reaches ? info.reaches : "");
  fact(dl, "Policies", info && info.policies ? info.policies.join(", ") : "");
  fact(dl, "Sessions", `${sock.nat_sessions ?? 0} NAT · ${sock.handshakes ?? 0} handshake(s)`);
  const reasons = Object.entries(sock.drops || {}).sort((a, b) => b[1] - a[1]);
  const drops = reasons.reduce((a, [, n]) => a + n, 0);
  $(".totals", c.root).replaceChildren(
    total("Clients", String(sock.clients), "clients"),
    total("Upload", bytes(sock.bytes.outbound), "upload"),
    total("Download", bytes(sock.bytes.inbound), "download"),
    total("Dropped", `${drops} pkts`, drops ? "drops" : "drops none", reasons.map(([r, n]) => `${r}: ${n}`).join("\n") || "no drops",
      reasons.length ? reasons[0][0].replaceAll("_", " ") : ""));
  // The live tail: the rate since the previous poll, until the series has a sample that covers it.
  const now = Date.now() / 1000;
  if (c.last) {
    const dt = now - c.last.time;
    if (dt > 0.5) c.live.push([now, (sock.bytes.outbound - c.last.out) / dt, (sock.bytes.inbound - c.last.in) / dt]);
  }
  c.last = { time: now, out: sock.bytes.outbound, in: sock.bytes.inbound };
  const latest = c.live.length ? c.live[c.live.length - 1] : [0, 0, 0];
  $(".now", c.root).replaceChildren(el("span", { class: "label", textContent: "Now" }),
    el("span", { class: "up", textContent: `↑ ${rate(Math.round(latest[1]))}` }),
    el("span", { class: "down", textContent: `↓ ${rate(Math.round(latest[2]))}` }));
  draw(c);
}

function total(label, value, key, title = "", note = "") {
  return el("div", { class: `total ${key}`, title }, el("span", { class: "label", textContent: label }),
    el("span", { class: "value", textContent: value }), note ? el("span", { class: "note", textContent: note }) : null);
}

function draw(c) {
  const newest = c.series.length ? c.series[c.series.length - 1][0] : 0;
  c.live = c.live.filter((p) => p[0] > newest).slice(-60);
  const points = [...c.series, ...c.live];
  const data = [points.map((p) => p[0]), points.map((p) => p[1]), points.map((p) => -p[2])];
  c.plot.setData(data);
  // What the chart shows, for a test (or a curious operator) to read off the page.
  const moved = points.reduce((a, p) => a + p[1] + p[2], 0);
  c.chart.setAttribute("data-points", String(points.length));
  c.chart.setAttribute("data-rate-sum", String(Math.round(moved)));
}

async function loadSeries(name) {
  const since = Math.floor(Date.now() / 1000) - 3600;  // the last hour on the card
  const { status, body } = await api(`/v1/stats/series?socket=${encodeURIComponent(name)}&since=${since}`);
  if (status !== 200) return;
  const interval = body.interval;
  cards.get(name).series = body.samples.map((s) => [s[0], s[1] / interval, s[2] / interval]);
  draw(cards.get(name));
}

// --- capturing an exit node's or a client's packets (POST /v1/capture), as a pcapng download -----

const CAPTURE_SECONDS = 30;
let stagesOf = null;  // the pipeline's stages and their plugins, asked once

// A button that captures 30 s of `what` ({socket} or {identity}): a client's packets right after
// the tunnel (decrypted), an exit node's right after policy (where packets carry their socket).
// Pressed again, it ends the capture early; either way what was captured is downloaded.
function captureButton(what, file) {
  const button = el("button", { class: "capture", type: "button", textContent: `Capture ${CAPTURE_SECONDS} s`,
    title: "Decrypted packets, as a pcapng file for Wireshark or tcpdump (written to the audit log)" });
  button.setAttribute("data-captured", "0");
  button.onclick = async () => {
    if (button.dataset.id) { button.dataset.stop = "1"; return; }
    try {
      if (!stagesOf) {
        const { status, body } = await api("/v1/capture");
        if (status !== 200) throw new Error(body && body.error ? body.error : `HTTP ${status}`);
        stagesOf = body.stages;
      }
      const plugin = what.socket ? "policy" : "wireguard";
      const stage = stagesOf.find((s) => s.plugin === plugin) || stagesOf[0];
      const { status, body } = await api("/v1/capture", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...what, at: stage.name, seconds: CAPTURE_SECONDS }) });
      if (status !== 201) throw new Error(body && body.error ? body.error : `HTTP ${status}`);
      button.dataset.id = body.id;
      const parts = [Uint8Array.from(atob(body.header), (c) => c.charCodeAt(0))];
      const started = Date.now();
      for (;;) {
        const read = await api(`/v1/capture/${body.id}`, button.dataset.stop ? { method: "DELETE", headers: { "Content-Type": "application/json" } } : {});
        if (read.status !== 200) throw new Error(read.body && read.body.error ? read.body.error : `HTTP ${read.status}`);
        parts.push(Uint8Array.from(atob(read.body.packets), (c) => c.charCodeAt(0)));
        button.setAttribute("data-captured", String(read.body.captured));
        if (read.body.state === "done") break;
        const left = Math.max(0, CAPTURE_SECONDS - Math.round((Date.now() - started) / 1000));
        button.textContent = `Capturing… ${read.body.captured} pkts, ${left} s (stop)`;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const link = el("a", { href: URL.createObjectURL(new Blob(parts, { type: "application/octet-stream" })),
        download: `${file}-${new Date().toISOString().replaceAll(":", "")}.pcapng` });
      document.body.append(link);
      link.click();
      link.remove();
      button.textContent = `Capture ${CAPTURE_SECONDS} s`;
    } catch (e) {
      if (e instanceof Unauthorized) askToken();
      button.textContent = `Capture failed: ${e.message || e}`;
    } finally {
      delete button.dataset.id;
      delete button.dataset.stop;
    }
  };
  return button;
}

// --- clients ------------------------------------------------------------------------------------

// An identity's quotas as "1.2 GiB of 10 GiB / day", "used up" once they are.
function quotaText(quotas, name) {
  return quotas.filter((q) => q.identity === name)
    .map((q) => `${bytes(q.used)} of ${bytes(q.bytes)} / ${q.per}${q.socket ? ` on ${q.socket}` : ""}${q.exhausted ? ": used up" : ""}`)
    .join("; ") || "—";
}

// The rows are drawn again at every poll; a client's button (and the capture it runs) stays.
const clientCaptures = new Map();
function clientCapture(name) {
  if (!clientCaptures.has(name)) clientCaptures.set(name, captureButton({ identity: name }, name));
  return clientCaptures.get(name);
}

function renderClients(stats, peers, quotas) {
  const tbody = $("#clients tbody");
  tbody.replaceChildren();
  const byName = new Map(stats.identities.map((i) => [i.name, i]));
  // With the wireguard stage's peers: every peer that ever shook hands; otherwise the identities
  // the stats stage has seen.
  const rows = peers
    ? peers.filter((p) => p.last_handshake !== null || (byName.get(p.identity || p.name) || {}).idle_seconds != null)
        .map((p) => ({ peer: p, id: byName.get(p.identity || p.name) }))
    : stats.identities.filter((i) => i.idle_seconds !== null).map((i) => ({ peer: null, id: i }));
  for (const { peer, id } of rows) {
    const name = (id && id.name) || (peer && (peer.identity || peer.name));
    const up = id ? id.bytes.outbound : peer.rx_bytes;
    const down = id ? id.bytes.inbound : peer.tx_bytes;
    const active = id ? id.active : peer.last_handshake !== null && Date.now() / 1000 - peer.last_handshake < 180;
    tbody.append(el("tr", { "data-client": name },
      el("td", { class: "name", textContent: name }),
      el("td", { textContent: (id && id.socket) || "—" }),
      el("td", { class: "mono", textContent: (peer && peer.endpoint) || "—" }),
      el("td", { textContent: peer ? ago(peer.last_handshake) : "—" }),
      el("td", { class: "num", textContent: bytes(up) }),
      el("td", { class: "num", textContent: bytes(down) }),
      el("td", { class: "quota", textContent: quotaText(quotas, name) }),
      el("td", { class: "num", textContent: id && id.drops ? String(Object.values(id.drops).reduce((a, b) => a + b, 0)) : "0",
        title: id && id.drops ? Object.entries(id.drops).map(([r, n]) => `${r}: ${n}`).join("\n") : "" }),
      el("td", {}, el("span", { class: `pill ${active ? "on" : "off"}`, textContent: active ? "active" : "idle" })),
      el("td", {}, clientCapture(name))));
  }
  $("#clients-empty").hidden = rows.length > 0;
}

// --- the connectors sharing the directory in etcd (GET /v1/connectors: absent without one) -------

function renderConnectors(list) {
  $("#connectors-section").hidden = !list;
  if (!list) return;
  const tbody = $("#connectors tbody");
  tbody.replaceChildren();
  for (const c of list) {
    const directory = c.error ? `refused a change: ${c.error}` : c.alive ? `runs revision ${c.revision}` : "—";
    tbody.append(el("tr", { "data-connector": c.name },
      el("td", { class: "name", textContent: c.name }),
      el("td", { class: "mono", textContent: c.endpoint || "—" }),
      el("td", { class: "num", textContent: c.alive ? String(c.clients) : "—" }),
      el("td", { class: "num", textContent: c.alive ? String(c.sessions) : "—" }),
      el("td", { textContent: c.version || "—" }),
      el("td", { class: c.error ? "bad" : "", textContent: directory }),
      el("td", {}, el("span", { class: `pill ${c.alive ? "on" : "off"}`, textContent: c.alive ? "alive" : "gone" }))));
  }
}

// --- policies and the access graph -------------------------------------------------------------

let cy = null;
let graphKey = "";

function renderGraph(graph) {
  const key = JSON.stringify(graph);
  if (key === graphKey) return;
  graphKey = key;
  // Three columns: identities, the policies that let them in, the sockets they reach.
  const columns = { identity: graph.identities, policy: graph.policies, socket: graph.sockets };
  const x = { identity: 0, policy: 260, socket: 520 };
  const elements = [];
  for (const [kind, items] of Object.entries(columns))
    items.forEach((it, i) => elements.push({
      data: { id: `${kind}:${it.name}`, label: it.name, kind },
      position: { x: x[kind], y: i * 70 - (items.length - 1) * 35 },
    }));
  const seen = new Set();
  for (const e of graph.edges) {
    for (const [from, to, cond] of [[`identity:${e.identity}`, `policy:${e.policy}`, ""],
      [`policy:${e.policy}`, `socket:${e.socket}`, e.conditions]]) {
      const id = `${from}->${to}`;
      if (seen.has(id)) continue;
      seen.add(id);
      elements.push({ data: { id, source: from, target: to, label: cond } });
    }
  }
  const rows = Math.max(graph.identities.length, graph.policies.length, graph.sockets.length, 1);
  $("#graph").style.height = `${Math.min(640, Math.max(180, rows * 70 + 60))}px`;
  if (cy) cy.destroy();
  cy = cytoscape({
    container: $("#graph"),
    elements,
    layout: { name: "preset", fit: true, padding: 30 },
    maxZoom: 1.3,
    userZoomingEnabled: false,
    boxSelectionEnabled: false,
    autoungrabify: true,
    style: [
      { selector: "node", style: {
        label: "data(label)", "font-size": 12, "font-family": "system-ui, sans-serif", color: "#111827",
        "text-valign": "center", "text-halign": "center", width: 150, height: 34, shape: "round-rectangle",
        "border-width": 1.5, "background-color": "#fff" } },
      { selector: 'node[kind = "identity"]', style: { "background-color": "#eff6ff", "border-color": "#2563eb" } },
      { selector: 'node[kind = "policy"]', style: { "background-color": "#fef3c7", "border-color": "#d97706", shape: "tag" } },
      { selector: 'node[kind = "socket"]', style: { "background-color": "#ecfdf5", "border-color": "#059669" } },
      { selector: "edge", style: {
        width: 1.5, "line-color": "#9ca3af", "target-arrow-color": "#9ca3af", "target-arrow-shape": "triangle",
        "curve-style": "bezier", label: "data(label)", "font-size": 10, color: "#6b7280",
        "text-background-color": "#fff", "text-background-opacity": 1, "text-background-padding": 2 } },
    ],
  });
  $("#graph").setAttribute("data-edges", String(graph.edges.length));
  // What the directory loads with but deserves a look (a policy's group nobody is in).
  const warnings = graph.warnings || [];
  $("#warnings").replaceChildren(...warnings.map((w) => el("li", { textContent: w })));
  $("#warnings").hidden = !warnings.length;
}

function renderPolicies(policies) {
  const list = $("#policies");
  list.replaceChildren();
  if (!policies.length) list.append(el("p", { class: "empty", textContent: "No policy: nobody may use any socket." }));
  for (const p of policies) {
    const who = [...p.who.identities, ...p.who.groups.map((g) => `group ${g}`), ...p.who.email_domains.map((d) => `@${d}`)];
    const rows = el("dl", { class: "facts" });
    fact(rows, "Sockets", p.organization_wide ? "every socket" : p.sockets.join(", "));
    fact(rows, "Who", who.length ? who.join(", ") : "anyone");
    fact(rows, "Grants", p.permissions.join(", "));
    if (p.conditions) fact(rows, "Only", p.conditions);
    list.append(el("article", { class: "card policy", "data-policy": p.name }, el("h3", { textContent: p.name }), rows));
  }
}

// --- creating an exit node ---------------------------------------------------------------------

function setupForm() {
  const form = $("#new-socket");
  $("#new-socket-open").onclick = () => { form.hidden = false; form.elements.name.focus(); };
  $("#new-socket-cancel").onclick = () => { form.hidden = true; };
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    // Prefixes as typed, separated by commas or spaces.
    for (const key of ["allow", "deny"]) data[key] = (data[key] || "").split(/[\s,]+/).filter(Boolean);
    const message = $("#new-socket-message");
    message.className = "message";
    message.textContent = "Creating…";
    try {
      const { status, body } = await api("/v1/sockets", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
      if (status === 201) {
        message.classList.add("ok");
        message.textContent = `Created ${data.name}.`;
        form.reset();
        setTimeout(() => { form.hidden = true; message.textContent = ""; }, 1500);
        tick(true);
      } else {
        message.classList.add("error");
        message.textContent = (body && body.error) || `HTTP ${status}`;
      }
    } catch (e) {
      if (e instanceof Unauthorized) askToken();
      message.classList.add("error");
      message.textContent = String(e.message || e);
    }
  };
}

// --- the loop ------------------------------------------------------------------------------------

let polls = 0;
let directory = new Map();

function status(ok, text) {
  $("#status").className = `status ${ok ? "ok" : "bad"}`;
  $("#status-text").textContent = text;
}

async function tick(everything = false) {
  try {
    const slow = everything || polls % SLOW_EVERY === 0;
    ++polls;
    if (slow) {
      const [sockets, policies, graph] = await Promise.all([api("/v1/sockets"), api("/v1/policies"), api("/v1/access-graph")]);
      if (sockets.status === 200) directory = new Map(sockets.body.sockets.map((s) => [s.name, s]));
      if (policies.status === 200) renderPolicies(policies.body.policies);
      else $("#policies").replaceChildren(el("p", { class: "empty", textContent: "No policy stage in this pipeline." }));
      if (graph.status === 200) renderGraph(graph.body);
    }
    let stats = await api("/v1/stats");
    const counted = stats.status === 200;
    // Without a stats stage the exit nodes are still shown, from the directory, with no traffic.
    if (stats.status === 404) {
      const zero = { outbound: 0, inbound: 0 };
      stats = { body: { identities: [], sockets: [...directory.values()].map((s) => ({ ...s, bytes: zero, packets: zero, clients: 0 })) } };
    } else if (!counted) throw new Error(`/v1/stats: HTTP ${stats.status}`);
    const names = new Set(stats.body.sockets.map((s) => s.name));
    for (const [name, c] of cards) if (!names.has(name)) { c.plot.destroy(); c.root.remove(); cards.delete(name); }
    for (const s of stats.body.sockets) renderSocket(s, directory.get(s.name));
    if (slow && counted) await Promise.all(stats.body.sockets.map((s) => loadSeries(s.name)));
    if (slow) {
      const [peers, shaper, connectors] = await Promise.all([api("/v1/peers"), api("/v1/shaper"), api("/v1/connectors")]);
      lastPeers = peers.status === 200 ? peers.body : null;
      lastQuotas = shaper.status === 200 ? shaper.body.quotas : [];
      // Empty where the directory is a file: the section stays hidden.
      renderConnectors(connectors.status === 200 && connectors.body.connectors.length ? connectors.body.connectors : null);
    }
    renderClients(stats.body, lastPeers ? lastPeers.peers : null, lastQuotas);
    const clients = stats.body.sockets.reduce((a, s) => a + s.clients, 0);
    $("#summary").textContent = `${stats.body.sockets.length} socket(s) · ${clients} active client(s)`;
    status(true, `${counted ? "live" : "no stats stage"} · ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    if (e instanceof Unauthorized) { status(false, "admin token needed"); askToken(); return; }
    status(false, String(e.message || e));
  }
}
let lastPeers = null;
let lastQuotas = [];

window.addEventListener("resize", () => { for (const c of cards.values()) c.plot.setSize(chartSize(c.chart)); });
setupForm();
tick(true);
setInterval(() => tick(false), POLL_MS);
