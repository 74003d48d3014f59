// The studio page: a header (steps, the library picker, the live-updates state) and one view
// at a time, chosen by the URL's hash:
//   #/library            footage and music: upload, import, ingest progress, clips, tracks
//   #/brief, #/brief/ID  the brief form and the saved briefs
//   #/variants           make N variants; their cards (play, render, QC, downloads)
//   #/variant/ID         a variant's editor (shots, lines, order, swaps, trims, music)
import { api, connectEvents, ApiError } from "./api.js";
import { h, fill, toast } from "./ui.js";
import * as libraryView from "./library.js";
import * as briefView from "./brief.js";
import * as variantsView from "./variants.js";
import * as editorView from "./editor.js";

const LIBRARY_KEY = "adcut.library";
const view = document.getElementById("view");
const picker = document.getElementById("library-picker");

// The shared state the views read and change.
const ctx = {
  libraries: [],
  library: null, // the library being worked on
  briefId: null, // the brief chosen last (the variants view offers it first)
  async refreshLibraries() {
    ctx.libraries = await api("libraries");
    const wanted = ctx.library?.id || localStorage.getItem(LIBRARY_KEY);
    ctx.library = ctx.libraries.find((l) => l.id === wanted) || ctx.libraries[0] || null;
    renderPicker();
    return ctx.library;
  },
  async refreshLibrary() {
    if (!ctx.library) return null;
    const fresh = await api(`libraries/${ctx.library.id}`);
    ctx.libraries = ctx.libraries.map((l) => (l.id === fresh.id ? fresh : l));
    ctx.library = fresh;
    return fresh;
  },
  selectLibrary(id, { quiet = false } = {}) {
    ctx.library = ctx.libraries.find((l) => l.id === id) || null;
    if (ctx.library) localStorage.setItem(LIBRARY_KEY, ctx.library.id);
    renderPicker();
    if (quiet) return; // (a view showing something of that library already)
    if (location.hash.startsWith("#/variant/")) ctx.go("#/variants");
    else route();
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

function renderPicker() {
  if (!ctx.libraries.length) {
    fill(picker, h("option", { value: "" }, "no library yet"));
    picker.disabled = true;
    return;
  }
  picker.disabled = false;
  fill(picker, ctx.libraries.map((l) => h("option", { value: l.id }, l.name)));
  picker.value = ctx.library ? ctx.library.id : "";
}

picker.addEventListener("change", () => ctx.selectLibrary(picker.value));

const ROUTES = [
  [/^#\/library$/, "library", libraryView],
  [/^#\/brief(?:\/([\w-]+))?$/, "brief", briefView],
  [/^#\/variants$/, "variants", variantsView],
  [/^#\/variant\/([\w-]+)$/, "variants", editorView],
];

let unmount = null;
let routing = 0;

async function route() {
  const hash = location.hash || "#/library";
  const found = ROUTES.find(([re]) => re.test(hash));
  if (!found) return ctx.go("#/library");
  const [re, nav, module] = found;
  const params = hash.match(re).slice(1);
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (unmount) unmount();
  unmount = null;
  const mine = ++routing;
  fill(view, h("p", { class: "muted" }, "Loading…"));
  try {
    const cleanup = await module.mount(view, ctx, ...params);
    if (mine !== routing) {
      if (cleanup) cleanup();
      return;
    }
    unmount = cleanup || null;
  } catch (err) {
    if (mine !== routing) return;
    fill(view, h("div", { class: "error", role: "alert" }, h("strong", {}, err.message || String(err)),
      err.hint ? ` ${err.hint}` : ""));
    if (!(err instanceof ApiError)) console.error(err);
  }
  document.title = `${view.querySelector("h1")?.textContent || "adcut studio"} · adcut studio`;
}

async function start() {
  // /?token=T set the cookie; the token must not stay in the address bar or the history.
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }
  const live = document.getElementById("live");
  connectEvents((text, ok) => {
    live.textContent = text;
    live.classList.toggle("ok", ok);
  });
  try {
    await ctx.refreshLibraries();
  } catch (err) {
    fill(view, h("div", { class: "error", role: "alert" }, h("strong", {}, err.message), err.hint ? ` ${err.hint}` : ""));
    return;
  }
  window.addEventListener("hashchange", route);
  route();
}

window.addEventListener("unhandledrejection", (e) => {
  const err = e.reason;
  if (err instanceof ApiError) {
    toast(err.text, "error");
    e.preventDefault();
  }
});

start();
