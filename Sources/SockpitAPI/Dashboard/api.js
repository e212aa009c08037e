// The API as the page uses it: the token (asked once, kept in sessionStorage), JSON requests whose errors are
// thrown as the server's problem documents, and the live event stream resumed by event id.

const TOKEN_KEY = "sockpit-token";

/** A problem document (RFC 9457) the server answered. */
export class Problem extends Error {
  constructor(doc, status) {
    super(doc.detail || doc.title || `HTTP ${status}`);
    this.doc = doc;
    this.status = status;
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);

let asking = null;

/** Shows the token prompt (once, however many requests were refused) and resolves when a token was given. */
export function askToken(wrong) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-message").textContent = wrong
    ? "The server refused that token (401 unauthorized). Enter the right one."
    : "Enter the bearer token the server was started with (--token).";
  asking = new Promise((resolve) => {
    const form = document.getElementById("token-form");
    form.onsubmit = () => {
      sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
      asking = null;
      resolve();
    };
    // Escape would close the dialog and leave every request waiting for a token nobody can give: it stays open.
    dialog.oncancel = (event) => event.preventDefault();
    dialog.showModal();
    document.getElementById("token-input").focus();
  });
  return asking;
}

/** `method path` with a JSON body; answers the parsed JSON (null for 204) or throws a Problem. */
export async function api(path, { method = "GET", body } = {}) {
  for (;;) {
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401) {
      await askToken(token() !== null);
      continue;
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch { doc = { detail: text }; }
    if (!response.ok) throw new Problem(doc || {}, response.status);
    return doc;
  }
}

/**
 * Follows `/v1/events/stream` from event `after`: `onEvent(event)` for each, `onState(text, kind)` when the
 * connection changes. The browser resumes a dropped stream itself with `Last-Event-ID`; a stream refused outright
 * (401, 429, 503) is reopened here from the last event seen, so nothing is missed and nothing comes twice.
 */
export function follow(after, onEvent, onState) {
  let last = after;
  let pause = 500;
  let source = null;
  function open() {
    const params = new URLSearchParams();
    if (last !== null && last !== undefined) params.set("after", last);
    if (token()) params.set("access_token", token());
    source = new EventSource(`/v1/events/stream?${params}`);
    source.onopen = () => { pause = 500; onState("live", "live"); };
    source.onmessage = (message) => {
      if (message.lastEventId) last = message.lastEventId;
      onEvent(JSON.parse(message.data));
    };
    source.addEventListener("end", (message) => {
      const reason = JSON.parse(message.data).reason;
      onState(`stream ended (${reason}), resuming`, "down", reason);
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        onState("stream refused, retrying", "down");
        setTimeout(() => api("/v1/stats").then(open, open), pause);  // a 401 here brings the token prompt
        pause = Math.min(pause * 2, 10000);
      } else {
        onState("reconnecting", "down");
      }
    };
  }
  open();
  // A page left for another (kept in the back/forward cache) would hold its stream's connection, and a browser
  // gives one host six: close it on leaving, resume from the last event on coming back.
  addEventListener("pagehide", () => source.close());
  addEventListener("pageshow", (event) => { if (event.persisted) open(); });
}
