// The page: a hash router over four views, all fed by one live event stream.
import { api, askToken, follow, token } from "./api.js";
import { el, problemText } from "./format.js";

import { overview } from "./overview.js";
import { socketsView, socketDetail } from "./sockets.js";
import { eventsView } from "./events.js";
import { probesView } from "./probes.js";

const listeners = new Set();
/** Subscribes `fn` to every live event until the returned function is called. */
export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
const endListeners = new Set();
export function onStreamEnd(fn) { endListeners.add(fn); return () => endListeners.delete(fn); }

let leave = () => {};
let routes = 0;

async function route() {
  const mine = ++routes;
  const [, view = "overview", id] = location.hash.match(/^#\/([a-z]+)(?:\/(.+))?/) || [];
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.view === view);
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
  }
  leave();
  leave = () => {};
  // Each visit renders into a container of its own: a view left while it loaded writes into a detached one.
  const main = el("div", { class: "page" });
  document.getElementById("view").replaceChildren(main);
  try {
    let stop;
    if (view === "sockets" && id) stop = await socketDetail(main, decodeURIComponent(id));
    else if (view === "sockets") stop = await socketsView(main);
    else if (view === "events") stop = await eventsView(main);
    else if (view === "probes") stop = await probesView(main);
    else stop = await overview(main);
    // Left while it loaded: another view owns the page now, and this one's subscriptions end at once.
    if (mine !== routes) return stop();
    leave = stop;
    performance.mark("sockpit:view-rendered", { detail: view });  // bench/dashboard.py reads it
  } catch (error) {
    if (mine !== routes) return;
    main.replaceChildren(el("p", { class: "problem", role: "alert" }, problemText(error)));
  }
}

async function start() {
  // Health is public and says whether a token is needed: ask for it before the first call that needs it.
  const health = await (await fetch("/v1/health", { headers: { Accept: "application/json" } })).json();
  if (health.token_required && !token()) await askToken(false);
  // The stream starts after the newest event the server has committed, so that nothing the views load later
  // is missed between their first read and the stream's first event.
  const newest = await api("/v1/events?limit=1");
  const state = document.getElementById("stream-state");
  follow(newest.items.length ? newest.items[0].id : "0", (event) => {
    for (const fn of listeners) fn(event);
  }, (text, kind, reason) => {
    state.textContent = text;
    state.className = kind;
    if (reason) for (const fn of endListeners) fn(reason);
  });
  addEventListener("hashchange", route);
  await route();
}

start().catch((error) => {
  document.getElementById("view").replaceChildren(el("p", { class: "problem", role: "alert" }, problemText(error)));
});
