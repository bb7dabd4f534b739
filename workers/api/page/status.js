// The status page: papers with live status, failures with reasons and Retry, the workers
// and the queue. Reads /api/v1 like any client (the cookie set when the page was opened
// with ?token= authenticates it) and follows WS /api/v1/events. Plain DOM, no build step.
"use strict";

const API = "/api/v1";
//: How many papers the page lists (newest first); the filter searches the server beyond that.
const SHOWN = 1000;
const papers = new Map();   // id -> paper (the newest rev seen wins)
const workers = new Map();  // worker id -> row
let depth = null;
let perMin = 0;
let renderQueued = false;

function $(id) { return document.getElementById(id); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(API + path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    document.body.innerHTML = "<p>The session has no valid token any more: open this page again"
      + " with <code>?token=TOKEN</code> (<code>research-hub serve --print-token</code>).</p>";
    throw new Error("unauthorised");
  }
  return response;
}

// -- papers -----------------------------------------------------------------------------

function applyPaper(p) {
  const old = papers.get(p.id);
  if (old && old.rev > p.rev) return;  // a list read older than an event already applied
  papers.set(p.id, { ...old, ...p });
  scheduleRender();
}

async function loadPapers() {
  const text = $("filter").value.trim();
  const query = new URLSearchParams({ limit: "1", text });
  const first = await (await api(`/papers?${query}`)).json();
  const lastPage = Math.max(1, Math.ceil(first.total / SHOWN));
  // The newest papers: the last page(s) in id order.
  const wanted = [lastPage];
  if (lastPage > 1) wanted.unshift(lastPage - 1);
  if (!text) papers.clear();
  for (const page of wanted) {
    const params = new URLSearchParams({ limit: String(SHOWN), page: String(page), text });
    const body = await (await api(`/papers?${params}`)).json();
    for (const p of body.papers) applyPaper(p);
  }
  $("more").textContent = first.total > papers.size
    ? `Showing the newest ${papers.size} of ${first.total} papers; the filter searches them all.`
    : "";
  scheduleRender();
}

function progress(p) {
  if (p.status !== "processing") return "";
  const share = p.pages_total ? p.pages_done / p.pages_total : 0;
  const fill = el("i");
  fill.style.width = `${Math.round(share * 100)}%`;
  const bar = el("span", { class: "bar" }, fill);
  const words = p.stage + (p.pages_total ? ` ${p.pages_done}/${p.pages_total}` : "");
  return el("span", {}, bar, words);
}

function matches(p, text) {
  if (!text) return true;
  const hay = `${p.title}\n${(p.authors || []).join(", ")}\n${p.year || ""}\n${p.status}`;
  return hay.toLowerCase().includes(text.toLowerCase());
}

function paperRow(p) {
  const status = el("td", { class: `status status-${p.status}` }, p.status);
  if (p.error) status.title = p.error;
  return el("tr", { "data-id": String(p.id), "data-status": p.status },
    el("td", { class: "num" }, String(p.id)), el("td", {}, p.title || ""), status,
    el("td", {}, progress(p)), el("td", { class: "num" }, String(p.chunks ?? "")));
}

function failureRow(p) {
  const retry = el("button", { type: "button", textContent: "Retry" });
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    const answer = await api(`/papers/${p.id}/retry`, { method: "POST" });
    if (answer.ok) applyPaper(await answer.json());
    else retry.disabled = false;
  });
  return el("tr", { "data-id": String(p.id) },
    el("td", { class: "num" }, String(p.id)), el("td", {}, p.title || ""),
    el("td", { class: "error" }, `${p.error_class || ""}: ${p.error || ""}`), el("td", {}, retry));
}

// -- workers and the queue ---------------------------------------------------------------------

function applySnapshot(snap) {
  workers.clear();
  for (const w of snap.workers) workers.set(w.id, w);
  const { total, ...byPriority } = snap.depth;
  depth = { ...byPriority, total };
  perMin = snap.per_min;
  scheduleRender();
}

async function loadWorkers() {
  applySnapshot(await (await api("/workers")).json());
}

function workerRow(w) {
  const paper = w.paper_id == null ? "–"
    : `#${w.paper_id} ${w.paper_title || ""} ${w.stage}`
      + (w.pages_total ? ` ${w.pages_done}/${w.pages_total}` : "");
  return el("tr", { "data-worker": w.id, "data-state": w.state },
    el("td", {}, w.host), el("td", { class: "num" }, String(w.pid)), el("td", {}, w.role),
    el("td", { class: `state-${w.state}` }, w.state), el("td", {}, paper),
    el("td", { class: "num" }, String(w.done)), el("td", { class: "num" }, String(w.failed)),
    el("td", { class: "num" }, w.per_min.toFixed(1)),
    el("td", { class: "num" }, `${Math.round(w.rss_mb)} MB`));
}

// -- rendering (coalesced to one pass per frame) ---------------------------------------------

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

// Rows are kept, and replaced only when what they show changed: a click on Retry, a
// selection or a hover survives the updates streaming in around it.
function syncRows(tbody, items, key, signature, make) {
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  let previous = null;
  for (const item of items) {
    const k = String(key(item));
    const sig = signature(item);
    let row = existing.get(k);
    existing.delete(k);
    if (!row || row.dataset.sig !== sig) {
      const fresh = make(item);
      fresh.dataset.key = k;
      fresh.dataset.sig = sig;
      if (row) row.replaceWith(fresh);
      row = fresh;
    }
    const wanted = previous ? previous.nextSibling : tbody.firstChild;
    if (row !== wanted) tbody.insertBefore(row, wanted);
    previous = row;
  }
  for (const row of existing.values()) row.remove();
}

const paperSig = (p) => [p.rev, p.status, p.stage, p.pages_done, p.pages_total, p.chunks,
  p.title, p.error].join("|");

function render() {
  renderQueued = false;
  const text = $("filter").value.trim();
  const all = [...papers.values()].sort((a, b) => b.id - a.id);
  const shown = all.filter((p) => matches(p, text)).slice(0, SHOWN);
  syncRows($("papers").tBodies[0], shown, (p) => p.id, paperSig, paperRow);
  const failed = all.filter((p) => p.status === "failed");
  syncRows($("failures").tBodies[0], failed, (p) => p.id,
    (p) => [p.title, p.error_class, p.error].join("|"), failureRow);
  $("no-failures").hidden = failed.length > 0;
  const counts = {};
  for (const p of all) counts[p.status] = (counts[p.status] || 0) + 1;
  $("counts").textContent = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(" · ");
  const rows = [...workers.values()].sort((a, b) => (a.state === "gone") - (b.state === "gone"));
  syncRows($("workers").tBodies[0], rows, (w) => w.id, (w) => JSON.stringify(w), workerRow);
  $("no-workers").hidden = rows.length > 0;
  if (depth) {
    const parts = Object.entries(depth).filter(([k]) => k !== "total").map(([k, n]) => `${n} ${k}`);
    $("queue").textContent = `${depth.total} waiting (${parts.join(", ")}) · `
      + `${perMin.toFixed(1)} papers/min over the last 10 minutes`;
  }
}

// -- live events -------------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${API}/events`);
  socket.addEventListener("open", async () => {
    $("live").textContent = "live";
    $("live").className = "live on";
    // Read the lists after subscribing: nothing committed in between is missed, and
    // the rev of each paper keeps the newer of the two.
    await Promise.all([loadPapers(), loadWorkers()]);
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "paper") applyPaper(message);
    else if (message.type === "removed") { papers.delete(message.id); scheduleRender(); }
    else if (message.type === "worker") { workers.set(message.id, message); scheduleRender(); }
    else if (message.type === "queue") {
      depth = message.depth;
      perMin = message.per_min;
      scheduleRender();
    }
  });
  socket.addEventListener("close", () => {
    $("live").textContent = "reconnecting…";
    $("live").className = "live off";
    setTimeout(connect, 1000);
  });
}

async function upload(files) {
  const note = $("upload-note");
  let done = 0;
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    const answer = await api("/papers", { method: "POST", body: form });
    const body = await answer.json();
    note.textContent = answer.ok ? `${++done} of ${files.length} added`
      : `${file.name}: ${body.detail}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("filter").addEventListener("input", () => { scheduleRender(); });
  $("filter").addEventListener("change", () => { loadPapers(); });
  $("files").addEventListener("change", (event) => {
    upload([...event.target.files]);
    event.target.value = "";
  });
  connect();
  // Throughput and heartbeats drift without changing a worker's state: refresh them now and then.
  setInterval(() => { loadWorkers().catch(() => {}); }, 10000);
});
