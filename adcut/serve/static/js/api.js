// The REST API (/api/v1), as the page uses it: JSON requests with the API's one error shape,
// uploads with progress, and one server-sent event stream of every job's changes.
// With a token, opening /?token=T once set an HttpOnly cookie: fetch, <video>, <img> and
// EventSource all send it by themselves, so nothing here handles the token.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
  get text() {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    const e = body.error || {};
    return new ApiError(response.status, e.code || "error", e.message || response.statusText, e.hint);
  } catch {
    return new ApiError(response.status, "error", `${response.status} ${response.statusText}`);
  }
}

/** A request to the API: `path` starts with /api/v1 (an URL the API gave) or is relative to it. */
export async function api(path, { method = "GET", json, headers = {}, raw = false } = {}) {
  const url = path.startsWith("/") ? path : `${API}/${path}`;
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, "offline", "the studio server does not answer", "is adcut serve still running?");
  }
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** A multipart upload with progress (fetch cannot report an upload's progress). */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path.startsWith("/") ? path : `${API}/${path}`);
    xhr.responseType = "json";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr.response);
      const e = (xhr.response && xhr.response.error) || {};
      reject(new ApiError(xhr.status, e.code || "error", e.message || `upload failed (${xhr.status})`, e.hint));
    };
    xhr.onerror = () => reject(new ApiError(0, "offline", "the upload was cut off", "try again"));
    xhr.send(form);
  });
}

// -- job events: one EventSource for the whole page -------------------------------------------

const listeners = new Set();
let source = null;

/** Call `fn(job)` for every job change; returns the function that stops it. */
export function onJob(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Open the event stream; `onState(text, ok)` hears whether it is connected. It is closed
 * when the page is left (a page kept in the back-forward cache must not hold it open) and
 * opened again when the page comes back. */
export function connectEvents(onState) {
  if (source) return;
  open(onState);
  window.addEventListener("pagehide", () => {
    source?.close();
    source = null;
  });
  window.addEventListener("pageshow", (e) => e.persisted && !source && open(onState));
}

let lastSeq = 0; // the last change seen: a stream opened again goes on from there

function open(onState) {
  source = new EventSource(`${API}/events${lastSeq ? `?since=${lastSeq}` : ""}`);
  source.addEventListener("open", () => onState("live", true));
  source.addEventListener("error", () => onState("reconnecting…", false));
  source.addEventListener("job", (event) => {
    let job;
    try {
      job = JSON.parse(event.data);
    } catch {
      return;
    }
    lastSeq = Math.max(lastSeq, job.seq || 0);
    for (const fn of [...listeners]) {
      try {
        fn(job);
      } catch (err) {
        console.error(err);
      }
    }
  });
}

export const ACTIVE = new Set(["queued", "running", "cancelling"]);
