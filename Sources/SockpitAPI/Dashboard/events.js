// The event feed: newest first, filterable, pausable, bounded; says when the server ended the stream and resumes.
import { api } from "./api.js";
import { onEvent, onStreamEnd } from "./app.js";
import { el, time, bytes, ms, details } from "./format.js";

const CAP = 500;

export async function eventsView(main) {
  const filters = el("form", { class: "filters", role: "search" },
    el("label", {}, "op", el("input", { name: "op", size: 10 })),
    el("label", {}, "outcome", el("select", { name: "outcome" }, ["", "ok", "error", "timeout"].map((v) => el("option", { value: v }, v || "any")))),
    el("label", {}, "socket", el("input", { name: "socket_id", size: 28 })),
    el("label", {}, "probe", el("input", { name: "probe_id", size: 28 })));
  const pause = el("button", { type: "button", "aria-pressed": "false" }, "Pause");
  const notice = el("p", { class: "muted", id: "feed-notice", role: "status" });
  const rows = el("tbody");
  main.append(el("h2", {}, "Events"), filters, el("div", { class: "actions" }, pause), notice,
    el("table", { id: "feed" }, el("thead", {}, el("tr", {}, ["id", "time", "op", "outcome", "socket / probe", "errno", "duration", "bytes", "details"].map((h) => el("th", {}, h)))), rows));

  const wanted = () => Object.fromEntries([...new FormData(filters)].filter(([, v]) => v));
  const matches = (event) => Object.entries(wanted()).every(([k, v]) => String(event[k] ?? "") === v);
  function row(event) {
    return el("tr", { "data-id": event.id }, el("td", { class: "num" }, event.id), el("td", {}, time(event.at)), el("td", {}, event.op),
      el("td", { class: `outcome-${event.outcome}` }, event.outcome), el("td", { class: "mono" }, event.socket_id || event.probe_id || ""),
      el("td", {}, event.errno || ""), el("td", { class: "num" }, ms(event.duration_ms)),
      el("td", { class: "num" }, event.bytes ? bytes(event.bytes) : ""), el("td", { class: "mono" }, details(event)));
  }
  // `events` in id order; the newest goes on top.
  function show(events) {
    rows.prepend(...events.map(row).reverse());
    while (rows.childElementCount > CAP) rows.lastElementChild.remove();
  }
  // Live events are shown once each, in order: one already on the page (its id not above the newest shown) is
  // skipped, so a page read while the stream catches up, or a stream resumed from an older id, adds no twin.
  let newest = 0;
  async function load() {
    const params = new URLSearchParams({ limit: "100", ...wanted() });
    const page = await api(`/v1/events?${params}`);
    rows.replaceChildren(...page.items.map(row));
    newest = Math.max(0, ...page.items.map((e) => Number(e.id)));
  }
  filters.addEventListener("change", load);
  filters.addEventListener("submit", (e) => e.preventDefault());
  let paused = false, held = [];
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) { show(held.slice(-CAP)); held = []; notice.textContent = ""; }
  });
  const early = [];
  let loaded = false;
  const stopEvents = onEvent((event) => {
    if (!loaded) { early.push(event); return; }
    if (!matches(event) || Number(event.id) <= newest) return;
    newest = Number(event.id);
    if (paused) { held.push(event); notice.textContent = `paused: ${held.length} new events held`; return; }
    show([event]);
  });
  await load();
  loaded = true;
  for (const event of early) if (matches(event) && Number(event.id) > newest) { newest = Number(event.id); show([event]); }
  const stopEnds = onStreamEnd((reason) => { notice.textContent = `the server ended the stream (${reason}); resumed from the last event`; });
  return () => { stopEvents(); stopEnds(); };
}
