// The variants view: "make N variants" from a saved brief, the edit job's progress, and a
// card per variant: poster frame that plays in the page, its preview and full render (each
// with a stale marker), the QC result, the downloads, "Edit shots" and "Full render".
//
// API: GET /briefs, POST /edits, GET /variants?library_id=, GET /variants/ID,
// POST /variants/ID/renders, POST /jobs/ID/cancel, and the job events: an edit job's events
// bring its new variants, a render job's (variant_id) refresh that card.
import { api, onJob, ACTIVE } from "./api.js";
import { h, fill, field, toast, showError, progressBar, throttle, busy, when } from "./ui.js";
import { player, qcLine, renderState, downloads, startRender } from "./renders.js";

export async function mount(root, ctx) {
  const lib = ctx.library;
  if (!lib) {
    fill(root, h("h1", {}, "Variants"), h("p", { class: "lead" }, "Make a library first."), h("a", { class: "button primary", href: "#/library" }, "Go to the library"));
    return null;
  }
  const briefs = await api("briefs");
  const grid = h("div", { class: "cards", id: "variant-cards" });
  const editBox = h("div", { class: "edit-jobs", id: "edit-jobs" });
  const jobs = new Map(); // variant id -> its running render job
  const cards = new Map(); // variant id -> {v, el}

  const cardOf = (v) => {
    const job = jobs.get(v.id);
    const full = h("button", { type: "button", class: "full-render", async onclick() { track(await startRender(v, "full", full)); } }, v.full?.state === "done" && !v.full.stale ? "Full render again" : "Full render");
    const preview = h("button", { type: "button", class: "preview-render", async onclick() { track(await startRender(v, "preview", preview)); } }, "Re-render preview");
    const working = job && ACTIVE.has(job.state);
    full.disabled = preview.disabled = Boolean(working);
    const stale = v.preview?.stale || !v.preview;
    return h("article", { class: "card", dataset: { variant: v.id, revision: String(v.revision) }, "aria-labelledby": `t-${v.id}` },
      player(v, job),
      h("div", { class: "card-body" },
        h("h3", { id: `t-${v.id}` }, v.name),
        h("p", { class: "muted small" }, `revision ${v.revision} · ${v.shots} shots · made ${when(v.created_at)}`),
        qcLine(v),
        renderState(v, "preview", job?.params?.quality === "preview" || job?.kind === "edit" ? job : null),
        renderState(v, "full", job?.params?.quality === "full" ? job : null),
        h("div", { class: "row" },
          h("a", { class: "button primary", href: `#/variant/${v.id}` }, "Edit shots"),
          stale ? preview : null, full),
        downloads(v)));
  };
  const show = (v) => {
    const old = cards.get(v.id);
    const el = cardOf(v);
    if (old) old.el.replaceWith(el);
    cards.set(v.id, { v, el });
    return el;
  };
  const loadAll = async () => {
    // newest edit first, each edit's variants in their order (#1, #2, ...)
    const list = await api(`variants?library_id=${lib.id}&limit=60`);
    const edits = [...new Set(list.map((v) => v.edit_job_id))];
    list.sort((a, b) => edits.indexOf(a.edit_job_id) - edits.indexOf(b.edit_job_id) || a.index - b.index);
    for (const v of list) for (const id of v.active_jobs) if (!jobs.has(v.id)) jobs.set(v.id, { id, state: "queued", progress: 0, message: "waiting", params: {} });
    if (!list.length) return fill(grid, h("p", { class: "empty" }, "No variants yet: make some above."));
    grid.querySelector(".empty")?.remove();
    // a card that did not change is kept (a video playing in it goes on playing)
    const els = list.map((v) => {
      const old = cards.get(v.id);
      return old && JSON.stringify(old.v) === JSON.stringify(v) ? old.el : show(v);
    });
    els.forEach((el, i) => { if (grid.children[i] !== el) grid.insertBefore(el, grid.children[i] || null); });
    while (grid.children.length > els.length) grid.lastElementChild.remove();
  };
  const refresh = async (id) => {
    if (!cards.has(id)) return loadAll();
    show(await api(`variants/${id}`));
  };
  const reloadSoon = throttle(loadAll, 300);
  const track = (job) => {
    if (job.variant_id) jobs.set(job.variant_id, job);
    if (job.variant_id) refresh(job.variant_id);
  };

  // the form
  const select = h("select", { id: "make-brief", required: true }, briefs.map((b) => h("option", { value: b.id }, `${b.name} (${b.brief.duration_s} s, ${b.brief.aspect})`)));
  if (ctx.briefId && briefs.some((b) => b.id === ctx.briefId)) select.value = ctx.briefId;
  const count = h("input", { type: "number", id: "make-count", min: "1", max: "20", value: "3", required: true });
  const make = h("button", { type: "submit", class: "primary", id: "make-variants" }, "Make 3 variants");
  count.addEventListener("input", () => { make.textContent = `Make ${count.value || "N"} variant${count.value === "1" ? "" : "s"}`; });
  const error = h("div", { class: "error", hidden: true });
  const form = briefs.length ? h("form", {
    class: "make-form panel", id: "make-form",
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      ctx.briefId = select.value;
      await busy(make, async () => {
        try {
          const out = await api("edits", { method: "POST", json: { library_id: lib.id, brief_id: select.value, variants: Number(count.value), render: "preview" } });
          showEditJob(out.job);
          toast(`Making ${count.value} variants`);
        } catch (err) {
          showError(error, err);
        }
      });
    },
  }, field("Brief", select), field("How many", count), make,
  h("a", { href: `#/brief/${select.value}`, class: "small", onclick: (e) => { e.currentTarget.href = `#/brief/${select.value}`; } }, "Open this brief"), error)
    : h("div", { class: "panel" }, h("p", {}, "Save a brief first."), h("a", { class: "button primary", href: "#/brief" }, "Write a brief"));

  const editCards = new Map();
  const showEditJob = (job) => {
    const old = editCards.get(job.id);
    if (old && old.seq > job.seq) return;
    const bar = progressBar("Making variants");
    bar.set(job.progress, job.message);
    const el = h("div", { class: `job state-${job.state}`, dataset: { job: job.id, state: job.state } },
      h("div", { class: "job-head" }, h("strong", {}, `${job.params?.variants || ""} variants`), h("span", { class: `badge ${job.state}` }, job.state), bar.el,
        job.can_cancel ? h("button", { type: "button", class: "small", onclick: (e) => busy(e.target, () => api(`jobs/${job.id}/cancel`, { method: "POST" })) }, "Cancel") : null,
        job.can_retry ? h("button", { type: "button", class: "small", onclick: (e) => busy(e.target, () => api(`jobs/${job.id}/retry`, { method: "POST" })) }, "Retry") : null),
      job.error ? h("p", { class: "error" }, job.error.message, job.error.hint ? ` ${job.error.hint}` : "") : null);
    if (old) old.el.replaceWith(el);
    else editBox.prepend(el);
    editCards.set(job.id, { seq: job.seq, el });
    if (!ACTIVE.has(job.state) && job.state === "done") setTimeout(() => { el.remove(); editCards.delete(job.id); }, 5000);
  };

  const redraw = (id) => cards.has(id) && show(cards.get(id).v);
  const lastEdit = new Map(); // edit job id -> what last changed the cards
  const off = onJob((job) => {
    if (job.library_id !== lib.id) return;
    if (job.kind === "edit") {
      showEditJob(job);
      const rendering = ACTIVE.has(job.state) ? job.detail?.rendering : null;
      for (const [vid, j] of jobs) if (j.id === job.id && vid !== rendering) { jobs.delete(vid); refresh(vid); }
      if (rendering) { jobs.set(rendering, job); redraw(rendering); }
      // new variants appear as they are planned; a finished preview refreshes its card
      const key = `${job.state}/${(job.detail?.variants || []).length}/${rendering}`;
      if (lastEdit.get(job.id) !== key) { lastEdit.set(job.id, key); reloadSoon(); }
    } else if (job.kind === "render" && job.variant_id) {
      const before = jobs.get(job.variant_id);
      if (ACTIVE.has(job.state)) jobs.set(job.variant_id, job);
      else jobs.delete(job.variant_id);
      // progress only redraws the card; a change of state fetches the variant again
      if (before && before.id === job.id && before.state === job.state && ACTIVE.has(job.state)) redraw(job.variant_id);
      else refresh(job.variant_id);
    }
  });

  fill(root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Variants"),
      h("p", { class: "lead" }, `Ads cut from “${lib.name}”. Each is planned, then a quick preview is rendered; render the full ad when you like it.`))),
    form, editBox, grid);
  const active = await api(`jobs?kind=edit&library_id=${lib.id}&state=active`);
  for (const job of active.items) showEditJob(job);
  await loadAll();
  return off;
}
