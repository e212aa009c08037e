// How values are shown: times in the browser's zone (UTC on hover), sizes and durations with units, addresses.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A time element: local time with milliseconds, its UTC value as the title. */
export function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const local = date.toLocaleString(undefined, { hour12: false, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 });
  return el("time", { datetime: iso, title: `${date.toISOString()} (UTC)` }, local);
}

export function bytes(count) {
  if (count === undefined || count === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(count), unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function ms(value) {
  if (value === undefined || value === null) return "";
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(3)} ms`;
}

export function count(value) {
  return value === undefined || value === null ? "" : Number(value).toLocaleString();
}

export function address(a) {
  if (!a) return "";
  if (a.host !== undefined) return a.host.includes(":") ? `[${a.host}]:${a.port ?? ""}` : `${a.host}:${a.port ?? ""}`;
  if (a.path !== undefined) return a.path || "(unnamed)";
  if (a.abstract !== undefined) return `@${a.abstract}`;
  if (a.netlink) return `netlink pid ${a.netlink.pid ?? 0}`;
  return [a.interface, a.address].filter(Boolean).join(" ");
}

/** An address as typed in a form: `host:port`, `[v6]:port`, `/path` or `name.sock` (a path), `@abstract`. */
export function parseAddress(text) {
  text = text.trim();
  if (text.startsWith("@")) return { abstract: text.slice(1) };
  const bracket = text.match(/^\[([^\]]+)\]:(\d+)$/);
  if (bracket) return { host: bracket[1], port: Number(bracket[2]) };
  const plain = text.match(/^([^:/]+):(\d+)$/);
  if (plain) return { host: plain[1], port: Number(plain[2]) };
  return { path: text };
}

/** An event's args and result in one short line (payloads as their preview). */
export function details(event) {
  const parts = [];
  for (const part of [event.args, event.result]) {
    if (!part) continue;
    for (const [key, value] of Object.entries(part)) {
      if (value && typeof value === "object" && "preview" in value) parts.push(`${key}=${JSON.stringify(value.preview)} (${bytes(value.bytes)})`);
      else if (value && typeof value === "object" && ("host" in value || "path" in value || "abstract" in value)) parts.push(`${key}=${address(value)}`);
      else parts.push(`${key}=${typeof value === "object" ? JSON.stringify(value) : value}`);
    }
  }
  return parts.join(" ");
}

export function problemText(error) {
  if (error && error.doc) return `${error.doc.title || "Error"} (${error.status}): ${error.doc.detail || ""}`;
  return String(error);
}
