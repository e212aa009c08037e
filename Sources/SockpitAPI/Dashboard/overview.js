// Overview: open sockets by kind and state, activity over the last minute and hour, probes by outcome.
import { api } from "./api.js";
import { onEvent } from "./app.js";
import { el, bytes, count } from "./format.js";

function card(label, figure) {
  return el("div", { class: "card" }, el("div", { class: "figure" }, figure), el("div", { class: "label" }, label));
}

export async function overview(main) {
  const body = el("div");
  main.append(el("h2", {}, "Overview"), body);
  async function render() {
    const stats = await api("/v1/stats");
    const minute = stats.operations.last_minute, hour = stats.operations.last_hour;
    body.replaceChildren(
      el("div", { class: "cards" },
        card("open sockets", count(stats.sockets.open)),
        card("operations in flight", count(stats.sockets.operations_in_flight)),
        card("operations, last minute", count(minute.operations)),
        card("operations, last hour", count(hour.operations)),
        card("errors / timeouts, last minute", `${count(minute.errors)} / ${count(minute.timeouts)}`),
        card("errors / timeouts, last hour", `${count(hour.errors)} / ${count(hour.timeouts)}`),
        card("sent / received, last minute", `${bytes(minute.bytes_sent)} / ${bytes(minute.bytes_received)}`),
        card("sent / received, last hour", `${bytes(hour.bytes_sent)} / ${bytes(hour.bytes_received)}`),
        card("probes: success / partial / failure / running",
          `${count(stats.probes.success)} / ${count(stats.probes.partial)} / ${count(stats.probes.failure)} / ${count(stats.probes.running)}`)),
      el("h2", {}, "Sockets by kind and state"),
      el("table", { id: "by-kind" },
        el("thead", {}, el("tr", {}, el("th", {}, "family"), el("th", {}, "type"), el("th", {}, "state"),
          el("th", {}, "netns"), el("th", { class: "num" }, "count"))),
        el("tbody", {}, stats.sockets.by_kind.map((k) => el("tr", {}, el("td", {}, k.family), el("td", {}, k.type),
          el("td", {}, k.state), el("td", {}, k.netns || ""), el("td", { class: "num" }, count(k.count)))))));
  }
  await render();
  // Events change the figures: redraw at most once a second while they come, and every 10 s for the windows.
  let pending = null;
  const stop = onEvent(() => { pending ??= setTimeout(() => { pending = null; render(); }, 1000); });
  const timer = setInterval(render, 10000);
  return () => { stop(); clearInterval(timer); clearTimeout(pending); };
}
