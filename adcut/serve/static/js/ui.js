// Small DOM helpers shared by the views. Text always goes in as text (never as HTML): clip
// captions, transcripts and file names come from footage and users.

/** An element: h("button", {class: "primary", onclick: f}, "Save"). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A fresh id for label/for and aria-* pairs. */
export const newId = (prefix = "f") => `${prefix}-${++uid}`;

/** A labelled field: label text above the control. */
export function field(text, control, hint) {
  if (!control.id) control.id = newId();
  const hintEl = hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control, hintEl);
}

export function seconds(s) {
  if (s === null || s === undefined) return "";
  return `${Number(s).toFixed(1)} s`;
}

export function clock(s) {
  const m = Math.floor(s / 60);
  const rest = (s - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${rest}`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MB`;
  return `${(n / (1 << 30)).toFixed(2)} GB`;
}

export function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A short message in the corner (and read out by screen readers). */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 4000);
}

/** An error box for a failed request (message and hint), replacing `el`'s content. */
export function showError(el, err) {
  el.hidden = false;
  fill(el, h("strong", {}, err.message || String(err)), err.hint ? h("span", {}, ` ${err.hint}`) : null);
  el.setAttribute("role", "alert");
}

/** A progress bar with its text: {el, set(fraction, text)}. */
export function progressBar(label) {
  const bar = h("progress", { max: "1", value: "0", "aria-label": label });
  const text = h("span", { class: "progress-text" });
  const el = h("div", { class: "progress" }, bar, text);
  return {
    el,
    set(fraction, message) {
      if (fraction === null) bar.removeAttribute("value");
      else bar.value = Math.max(0, Math.min(1, fraction));
      text.textContent = message || "";
    },
  };
}

/** Run `fn` at most once every `ms` (the last call wins). */
export function throttle(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Disable a button while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
