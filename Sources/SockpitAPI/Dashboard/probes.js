// Probes: run one from a form and see its result — ports for a scan, echoes and a SmokePing-style chart of the
// target's ICMP series, hops for a traceroute — and the target's past probes side by side.
import { api } from "./api.js";
import { el, time, ms, count, problemText } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const SERIES = 20;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The value at fraction `p` of sorted `values` (nearest rank). */
function percentile(values, p) {
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(p * values.length) - 1))];
}

/** A loss percentage's class, coloured as SmokePing does (style.css): none green, then amber, orange, red. */
function lossClass(loss) {
  if (loss <= 0) return "loss-none";
  if (loss <= 10) return "loss-low";
  if (loss <= 50) return "loss-mid";
  return "loss-high";
}

/**
 * The ICMP series of a target as SmokePing draws it: per probe (oldest left), every echo's round trip as a point
 * coloured by the probe's loss, the p5–p95 spread as "smoke", and the median as a line.
 */
export function smokeChart(probes) {
  const width = 760, height = 260, left = 72, right = 12, top = 12, bottom = 34;
  const rounds = probes.map((probe) => {
    const rtts = (probe.results || []).filter((r) => r.rtt_ms !== undefined && r.rtt_ms !== null).map((r) => r.rtt_ms).sort((a, b) => a - b);
    return { probe, rtts, loss: probe.summary?.loss_percent ?? 0 };
  });
  const highest = Math.max(0.001, ...rounds.flatMap((r) => r.rtts)) * 1.1;
  const step = (width - left - right) / Math.max(1, rounds.length);
  const x = (i) => left + step * (i + 0.5);
  const y = (v) => top + (height - top - bottom) * (1 - v / highest);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", id: "smoke-chart",
    "aria-label": `Round trips of ${rounds.length} ICMP probes: median line, p5 to p95 spread, points coloured by loss` });
  for (const fraction of [0, 0.5, 1]) {
    const value = highest * fraction;
    chart.append(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(value), y2: y(value) }),
      svg("text", { class: "axis", x: left - 6, y: y(value) + 4, "text-anchor": "end" }, ms(value)));
  }
  const median = [];
  rounds.forEach((round, i) => {
    const group = svg("g", { class: "round", "data-probe": round.probe.id, "data-loss": round.loss });
    group.append(svg("title", {}, `${new Date(round.probe.started_at).toLocaleString()}: ${round.rtts.length} replies, ${round.loss}% loss`));
    if (round.rtts.length) {
      const low = percentile(round.rtts, 0.05), high = percentile(round.rtts, 0.95);
      group.append(svg("rect", { class: "smoke", x: x(i) - step * 0.35, width: step * 0.7, y: y(high), height: Math.max(1, y(low) - y(high)) }));
      median.push(`${x(i)},${y(percentile(round.rtts, 0.5))}`);
    }
    for (const rtt of round.rtts) {
      group.append(svg("circle", { class: `echo ${lossClass(round.loss)}`, cx: x(i), cy: y(rtt), r: 3, "data-rtt": rtt }));
    }
    chart.append(group);
  });
  if (median.length > 1) chart.append(svg("polyline", { class: "median", points: median.join(" ") }));
  else if (median.length === 1) {
    const [cx, cy] = median[0].split(",");
    chart.append(svg("line", { class: "median", x1: Number(cx) - step * 0.35, x2: Number(cx) + step * 0.35, y1: cy, y2: cy }));
  }
  if (rounds.length) {
    chart.append(svg("text", { class: "axis", x: left, y: height - 10 }, new Date(rounds[0].probe.started_at).toLocaleTimeString(undefined, { hour12: false })),
      svg("text", { class: "axis", x: width - right, y: height - 10, "text-anchor": "end" },
        new Date(rounds[rounds.length - 1].probe.started_at).toLocaleTimeString(undefined, { hour12: false })));
  }
  return el("figure", {}, chart, el("figcaption", { class: "muted" },
    "median round trip (line), p5–p95 spread (smoke), each reply a point coloured by its probe's loss: ",
    el("span", { class: "loss-none" }, "0%"), ", ", el("span", { class: "loss-low" }, "≤10%"), ", ",
    el("span", { class: "loss-mid" }, "≤50%"), ", ", el("span", { class: "loss-high" }, ">50% loss")));
}

function summaryText(probe) {
  const s = probe.summary || {};
  switch (probe.kind) {
    case "tcp": case "udp": case "unix":
      return ["open", "closed", "filtered", "open_filtered", "untested"].filter((k) => s[k]).map((k) => `${count(s[k])} ${k.replace("_", "|")}`).join(", ") || "0 open";
    case "icmp":
      return `${s.sent ?? 0} sent, ${s.received ?? 0} received, ${s.loss_percent ?? 0}% loss` + (s.rtt_avg_ms !== undefined ? `, avg ${ms(s.rtt_avg_ms)}` : "");
    case "traceroute":
      return s.reached ? `reached in ${s.destination_hop} hops` : `not reached in ${s.hops ?? 0} hops`;
    default:
      return "";
  }
}

function result(probe) {
  const rows = probe.results || [];
  const parts = [el("p", { id: "probe-summary" }, el("strong", {}, `${probe.kind} ${probe.target}: `), summaryText(probe),
    ` — ${probe.outcome ?? probe.status}`, probe.reason ? ` (${probe.reason.kind}: ${probe.reason.message})` : "",
    probe.duration_ms !== undefined ? `, ${ms(probe.duration_ms)}` : "")];
  const table = (headers, cells) => el("table", { id: "probe-results" }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, cells.map((row) => el("tr", {}, row.map((c) => el("td", {}, c))))));
  if (probe.kind === "tcp" || probe.kind === "udp") {
    if (rows.length) parts.push(table(["port", "state", "round trip", "errno"], rows.map((r) => [r.port, r.state, ms(r.rtt_ms), r.errno || ""])));
    if (probe.closed_ports?.count) parts.push(el("p", { class: "muted", id: "closed-ports" }, `${count(probe.closed_ports.count)} closed ports (${probe.closed_ports.ranges})`));
  } else if (probe.kind === "icmp") {
    parts.push(table(["seq", "state", "round trip", "ttl"], rows.map((r) => [r.sequence, r.state, ms(r.rtt_ms), r.ttl ?? ""])));
  } else if (probe.kind === "traceroute") {
    parts.push(table(["hop", "address", "state", "round trip"], rows.map((r) => [r.hop, r.address || "*", r.state, ms(r.rtt_ms)])));
  } else {
    parts.push(table(["state", "round trip", "errno"], rows.map((r) => [r.state, ms(r.rtt_ms), r.errno || ""])));
  }
  return parts;
}

async function finished(id) {
  for (;;) {
    const probe = await api(`/v1/probes/${encodeURIComponent(id)}`);
    if (probe.status !== "running") return probe;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function probesView(main) {
  const kind = el("select", { name: "kind", "aria-label": "kind" }, ["tcp", "udp", "icmp", "unix", "traceroute"].map((k) => el("option", { value: k }, k)));
  const field = (name, label, attributes = {}) => el("label", {}, label, el("input", { name, ...attributes }));
  const form = el("form", { class: "actions", "aria-label": "Run a probe" }, el("label", {}, "kind", kind),
    field("target", "target", { required: true, size: 20, placeholder: "127.0.0.1" }), field("ports", "ports", { size: 14, placeholder: "1-1024" }),
    field("count", "count", { size: 5, inputmode: "numeric" }), field("interval_ms", "interval ms", { size: 6, inputmode: "numeric" }),
    field("timeout_ms", "timeout ms", { size: 6, inputmode: "numeric" }), el("button", { type: "submit" }, "Run"));
  const problem = el("p", { class: "problem", role: "alert" });
  const running = el("p", { class: "muted", role: "status" });
  const output = el("div", { id: "probe-output" });
  const chart = el("div", { id: "probe-chart" });
  const history = el("div", { id: "probe-history" });
  main.append(el("h2", {}, "Probes"), form, problem, running, output, chart, history);

  async function showTarget(target, latest) {
    const past = await api(`/v1/probes?target=${encodeURIComponent(target)}&limit=${SERIES}`);
    const echoes = await Promise.all(past.items.filter((p) => p.kind === "icmp" && p.status === "finished").reverse()
      .map((p) => api(`/v1/probes/${encodeURIComponent(p.id)}`)));
    chart.replaceChildren(...(echoes.length ? [el("h2", {}, `ICMP round trips to ${target}`), smokeChart(echoes)] : []));
    history.replaceChildren(el("h2", {}, `Past probes of ${target}`), el("table", { id: "probe-history-table" },
      el("thead", {}, el("tr", {}, ["started", "kind", "outcome", "summary", "duration"].map((h) => el("th", {}, h)))),
      el("tbody", {}, past.items.map((p) => el("tr", { class: p.id === latest ? "latest" : "" }, el("td", {}, time(p.started_at)), el("td", {}, p.kind),
        el("td", { class: p.outcome === "failure" ? "outcome-error" : "" }, p.outcome ?? p.status), el("td", {}, summaryText(p)), el("td", { class: "num" }, ms(p.duration_ms)))))));
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    problem.textContent = "";
    const values = Object.fromEntries(new FormData(form));
    const body = { kind: values.kind, target: values.target.trim() };
    if (values.ports) body.ports = /^\d+$/.test(values.ports) ? Number(values.ports) : values.ports;
    for (const name of ["count", "interval_ms", "timeout_ms"]) if (values[name]) body[name] = Number(values[name]);
    try {
      const started = await api("/v1/probes?wait=false", { method: "POST", body });
      running.textContent = `${started.kind} ${started.target}: running…`;
      const probe = await finished(started.id);
      running.textContent = "";
      output.replaceChildren(...result(probe));
      await showTarget(probe.target, probe.id);
    } catch (error) {
      running.textContent = "";
      problem.textContent = problemText(error);
    }
  });
  return () => {};
}
