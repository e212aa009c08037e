// Sockets: a filtered, paged table that follows the event stream, and one socket's detail with its timeline and
// the operations a token that may write can run.
import { api } from "./api.js";
import { onEvent } from "./app.js";
import { el, time, bytes, ms, address, parseAddress, details, problemText } from "./format.js";

const STATES = ["", "created", "bound", "listening", "connecting", "connected", "read_shutdown", "write_shutdown", "shutdown", "closed"];
const FAMILIES = ["", "inet", "inet6", "unix", "packet", "netlink"];
const TYPES = ["", "stream", "dgram", "seqpacket", "raw"];
const ROW_CAP = 1000;

function select(name, values, value = "") {
  return el("select", { name, "aria-label": name }, values.map((v) => el("option", { value: v, selected: v === value }, v || `any ${name}`)));
}

/** Runs `action` and shows its problem (title, status and detail) in `out`, or clears it. */
async function attempt(out, action) {
  out.textContent = "";
  try { return await action(); } catch (error) { out.textContent = problemText(error); return undefined; }
}

export async function socketsView(main) {
  const filters = el("form", { class: "filters", role: "search" },
    select("state", STATES), select("family", FAMILIES), select("type", TYPES),
    el("label", {}, "label", el("input", { name: "label", size: 12 })));
  const createProblem = el("p", { class: "problem", role: "alert" });
  const create = el("form", { class: "actions", "aria-label": "Create a socket" },
    select("family", FAMILIES.slice(1), "inet"), select("type", TYPES.slice(1), "stream"),
    el("label", {}, "label", el("input", { name: "label", size: 12 })),
    el("button", { type: "submit" }, "Create socket"));
  const rows = el("tbody");
  const more = el("button", { type: "button", hidden: true }, "More");
  const table = el("table", { id: "sockets" },
    el("thead", {}, el("tr", {}, ["id", "kind", "state", "local", "peer", "label", "created"].map((h) => el("th", {}, h)))), rows);
  main.append(el("h2", {}, "Sockets"), filters, table, more, el("h2", {}, "New socket"), create, createProblem);

  const shown = new Map();  // id -> row
  let cursor = null;
  const query = () => {
    const params = new URLSearchParams({ limit: "50" });
    for (const [name, value] of new FormData(filters)) if (value) params.set(name, value);
    return params;
  };
  const matches = (socket) => {
    for (const [name, value] of new FormData(filters)) if (value && String(socket[name] ?? "") !== value) return false;
    return true;
  };
  function row(socket) {
    const tr = el("tr", { class: `clickable state-${socket.state}`, tabindex: 0, "data-id": socket.id,
      onclick: () => { location.hash = `#/sockets/${socket.id}`; },
      onkeydown: (e) => { if (e.key === "Enter") location.hash = `#/sockets/${socket.id}`; } },
      el("td", { class: "mono" }, socket.id), el("td", {}, `${socket.family}/${socket.type}`),
      el("td", { class: "state" }, socket.state), el("td", {}, address(socket.local_address)),
      el("td", {}, address(socket.peer_address)), el("td", {}, socket.label || ""), el("td", {}, time(socket.created_at)));
    return tr;
  }
  function upsert(socket, atTop) {
    const old = shown.get(socket.id);
    if (!matches(socket)) { old?.remove(); shown.delete(socket.id); return; }
    const fresh = row(socket);
    if (old) old.replaceWith(fresh);
    else if (atTop) rows.prepend(fresh);
    else rows.append(fresh);
    shown.set(socket.id, fresh);
    while (shown.size > ROW_CAP) { const last = rows.lastElementChild; shown.delete(last.dataset.id); last.remove(); }
  }
  async function load(next) {
    const params = query();
    if (next) params.set("cursor", next);
    const page = await api(`/v1/sockets?${params}`);
    for (const socket of page.items) upsert(socket, false);
    cursor = page.next_cursor ?? null;
    more.hidden = !cursor;
  }
  filters.addEventListener("change", () => { rows.replaceChildren(); shown.clear(); load(null); });
  filters.addEventListener("submit", (e) => e.preventDefault());
  more.addEventListener("click", () => load(cursor));
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = Object.fromEntries(new FormData(create));
    const body = { family: form.family, type: form.type };
    if (form.label) body.label = form.label;
    await attempt(createProblem, () => api("/v1/sockets", { method: "POST", body }));
  });
  await load(null);

  // Events change the table in bursts: once per burst (and never two at once) the first page is read again and
  // put on top as the API orders it, and a row further down that an event named is read again on its own
  // (changed in place, or dropped when it no longer matches the filters).
  const due = new Set();
  let timer = null, busy = false;
  async function refresh() {
    timer = null;
    if (busy) { timer = setTimeout(refresh, 50); return; }
    busy = true;
    const ids = new Set(due);
    due.clear();
    try {
      const page = await api(`/v1/sockets?${query()}`);
      const top = page.items.map((socket) => { shown.get(socket.id)?.remove(); const tr = row(socket); shown.set(socket.id, tr); return tr; });
      rows.prepend(...top);
      for (const id of ids) {
        if (page.items.some((socket) => socket.id === id) || !shown.has(id)) continue;
        try { upsert(await api(`/v1/sockets/${encodeURIComponent(id)}`), false); } catch { /* pruned meanwhile */ }
      }
      while (shown.size > ROW_CAP) { const last = rows.lastElementChild; shown.delete(last.dataset.id); last.remove(); }
    } finally {
      busy = false;
    }
  }
  const stop = onEvent((event) => {
    if (!event.socket_id) return;
    due.add(event.socket_id);
    timer ??= setTimeout(refresh, 50);
  });
  return () => { stop(); clearTimeout(timer); };
}

export async function socketDetail(main, id) {
  const info = el("div");
  const problem = el("p", { class: "problem", role: "alert" });
  const actions = el("div", { class: "actions-area" });
  const timeline = el("tbody");
  main.append(el("p", {}, el("a", { href: "#/sockets" }, "← Sockets")), el("h2", {}, "Socket ", el("span", { class: "mono" }, id)),
    info, el("h2", {}, "Operations"), actions, problem, el("h2", {}, "Timeline"),
    el("table", { id: "timeline" }, el("thead", {}, el("tr", {}, ["time", "op", "outcome", "errno", "duration", "bytes", "details"].map((h) => el("th", {}, h)))), timeline));

  async function showSocket() {
    const socket = await api(`/v1/sockets/${encodeURIComponent(id)}`);
    const c = socket.counters;
    const fields = [["state", socket.state + (socket.close_reason ? ` (${socket.close_reason})` : "")],
      ["kind", `${socket.family} ${socket.type} ${socket.protocol}`], ["local", address(socket.local_address)],
      ["peer", address(socket.peer_address)], ["label", socket.label], ["netns", socket.netns], ["parent", socket.parent_id],
      ["created", time(socket.created_at)], ["closed", time(socket.closed_at)],
      ["sent", `${bytes(c.bytes_sent)} in ${c.messages_sent} messages`], ["received", `${bytes(c.bytes_received)} in ${c.messages_received} messages`]];
    const list = el("dl", { class: "fields", id: "socket-fields" });
    for (const [name, value] of fields) if (value) list.append(el("dt", {}, name), el("dd", { "data-field": name }, value));
    info.replaceChildren(list);
    if (socket.state !== "closed") {
      try {
        const options = await api(`/v1/sockets/${encodeURIComponent(id)}/options`);
        const tcp = options.tcp_info;
        delete options.tcp_info;
        info.append(el("h2", {}, "Options"), el("p", { class: "mono" }, Object.entries(options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("  ")));
        if (tcp) info.append(el("h2", {}, "tcp_info"), el("p", { class: "mono" }, Object.entries(tcp).map(([k, v]) => `${k}=${v}`).join("  ")));
      } catch { /* closed meanwhile */ }
    }
    return socket;
  }
  function addEvent(event) {
    timeline.append(el("tr", {}, el("td", {}, time(event.at)), el("td", {}, event.op),
      el("td", { class: `outcome-${event.outcome}` }, event.outcome), el("td", {}, event.errno || ""),
      el("td", { class: "num" }, ms(event.duration_ms)), el("td", { class: "num" }, event.bytes ? bytes(event.bytes) : ""),
      el("td", { class: "mono", title: event.error_message || "" }, details(event))));
  }
  // The timeline: history first, then live events, each once (the stream may deliver one the history read had).
  let newest = 0, loaded = false;
  const early = [];
  const append = (event) => { if (Number(event.id) > newest) { newest = Number(event.id); addEvent(event); } };
  const stop = onEvent((event) => {
    if (event.socket_id !== id) return;
    if (!loaded) { early.push(event); return; }
    append(event);
    showSocket().catch(() => {});
  });
  const socket = await showSocket();
  let cursor = null;
  do {
    const page = await api(`/v1/sockets/${encodeURIComponent(id)}/events?order=asc&limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    page.items.forEach(append);
    cursor = page.next_cursor;
  } while (cursor);
  loaded = true;
  early.forEach(append);

  // Operations: each answered with the API's problem text when it fails.
  const run = (path, body) => attempt(problem, () => api(`/v1/sockets/${encodeURIComponent(id)}/${path}`, { method: "POST", body }));
  const input = (name, placeholder, size = 16) => el("input", { name, placeholder, size, "aria-label": name });
  const form = (label, fields, submit) => {
    const f = el("form", { class: "actions", "aria-label": label }, fields, el("button", { type: "submit" }, label));
    f.addEventListener("submit", (e) => { e.preventDefault(); submit(Object.fromEntries(new FormData(f))); });
    return f;
  };
  const received = el("p", { class: "mono", id: "received" });
  if (socket.state !== "closed") {
    actions.append(
      form("Bind", [input("address", "127.0.0.1:0")], (v) => run("bind", { address: parseAddress(v.address) })),
      form("Listen", [input("backlog", "backlog", 6)], (v) => run("listen", v.backlog ? { backlog: Number(v.backlog) } : {})),
      form("Connect", [input("address", "127.0.0.1:8080")], (v) => run("connect", { address: parseAddress(v.address) })),
      form("Accept", [input("timeout_ms", "timeout ms", 8)], (v) => run("accept", v.timeout_ms ? { timeout_ms: Number(v.timeout_ms) } : {})),
      form("Send", [input("data", "data", 24), select("encoding", ["utf8", "hex", "base64"], "utf8")],
        (v) => run("send", { data: v.data, encoding: v.encoding })),
      form("Receive", [input("max_bytes", "max bytes", 8), input("timeout_ms", "timeout ms", 8), select("encoding", ["", "utf8", "hex", "base64"])],
        async (v) => {
          const body = {};
          if (v.max_bytes) body.max_bytes = Number(v.max_bytes);
          if (v.timeout_ms) body.timeout_ms = Number(v.timeout_ms);
          if (v.encoding) body.encoding = v.encoding;
          const got = await run("receive", body);
          if (got) received.textContent = got.timed_out ? "nothing came in time" : got.eof && !got.bytes ? "end of stream" : `${got.data} (${got.encoding}, ${bytes(got.bytes)})`;
        }),
      form("Close", [], async () => {
        if (confirm(`Close socket ${id}?`)) await attempt(problem, () => api(`/v1/sockets/${encodeURIComponent(id)}`, { method: "DELETE" }));
      }),
      received);
  }
  return stop;
}
