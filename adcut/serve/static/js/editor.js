// A variant's editor: its shot list (thumbnail, line, transition, trim), reordered by drag
// and drop or with Move up / Move down, a shot swapped for one of the planner's next-best
// clips for its line (with their scores), the music track and where it starts; undo and
// redo; re-render (preview or full) with the renders' stale markers.
//
// Every change is an edit of the plan: the page PUTs the whole edited plan (If-Match: its
// revision's ETag), which the server validates and saves as a new revision, exactly the file
// the command line renders. API: GET /variants/ID, GET/PUT /variants/ID/plan,
// POST /variants/ID/plan/undo|redo, GET /variants/ID/shots/N/candidates,
// POST /variants/ID/renders, GET /libraries/ID/clips and /tracks, GET /jobs/ID, job events.
import { api, onJob, ACTIVE } from "./api.js";
import { h, fill, field, seconds, toast, showError, busy } from "./ui.js";
import { player, qcLine, renderState, downloads, startRender, shownRender } from "./renders.js";

const SHOT_MIME = "application/x-adcut-shot";
// "cut" and the ffmpeg xfade transitions an EditPlan accepts (adcut.core.plan.TRANSITIONS)
const TRANSITIONS = ["cut", "fade", "fadeblack", "fadewhite", "dissolve", "distance", "wipeleft",
  "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup", "slidedown",
  "smoothleft", "smoothright", "smoothup", "smoothdown", "circleopen", "circleclose",
  "circlecrop", "rectcrop", "zoomin", "radial", "pixelize", "hblur", "squeezeh", "squeezev",
  "coverleft", "coverright", "revealleft", "revealright"];
const NAMES = { cut: "Cut", fade: "Fade", fadeblack: "Fade through black", fadewhite: "Fade through white", dissolve: "Dissolve", zoomin: "Zoom in", hblur: "Blur", pixelize: "Pixelize", radial: "Radial wipe" };
const transitionName = (t) => NAMES[t] || t.replace(/^(wipe|slide|smooth|circle|cover|reveal|squeeze)(.*)$/, (_, a, b) => `${a[0].toUpperCase()}${a.slice(1)} ${b}`);

export async function mount(root, ctx, variantId) {
  let v = await api(`variants/${variantId}`);
  if (ctx.library?.id !== v.library_id) ctx.selectLibrary(v.library_id, { quiet: true });
  const [clipList, tracks] = await Promise.all([
    api(`libraries/${v.library_id}/clips?limit=1000`), api(`libraries/${v.library_id}/tracks`)]);
  const clips = new Map(clipList.items.map((c) => [c.id, c]));
  let plan = null;
  let rev = null;
  let job = null; // the render job working on this variant
  let openSwap = null; // the shot whose candidates are shown
  let pendingFocus = null;
  let saving = Promise.resolve();
  let dragFrom = null;

  const status = h("span", { class: "save-status", id: "save-status", role: "status" });
  const undoBtn = h("button", { type: "button", id: "undo", async onclick() { await move("undo", undoBtn); } }, "↶ Undo");
  const redoBtn = h("button", { type: "button", id: "redo", async onclick() { await move("redo", redoBtn); } }, "↷ Redo");
  const revText = h("span", { class: "muted", id: "revision" });
  const list = h("ol", { class: "shot-list", id: "shots", "aria-describedby": "shots-help" });
  const side = h("aside", { class: "side panel", id: "editor-side", "aria-label": "Render and music" });
  const music = h("section", { class: "panel music", "aria-labelledby": "music-h" });
  const error = h("div", { class: "error", hidden: true, id: "editor-error" });
  const title = h("h1", {}, v.name);

  const loadPlan = async () => {
    const res = await api(v.plan_url, { raw: true });
    plan = await res.json();
    rev = Number(res.headers.get("X-Adcut-Revision"));
  };

  // -- saving ---------------------------------------------------------------------------
  const save = (change, what, focus) => {
    saving = saving.then(async () => {
      const next = structuredClone(plan);
      change(next);
      error.hidden = true;
      status.textContent = "Saving…";
      try {
        v = await api(v.plan_url, { method: "PUT", json: next, headers: { "If-Match": `"${rev}"` } });
        status.textContent = `${what}: saved as revision ${v.revision}`;
        pendingFocus = focus || null;
      } catch (err) {
        if (err.status === 412) toast("The plan was changed elsewhere: here is its newest revision. Make your edit again.", "error");
        else showError(error, err);
        status.textContent = "Not saved";
        v = await api(`variants/${v.id}`);
      }
      await loadPlan();
      renderAll();
    });
    return saving;
  };
  const move = async (direction, button) => {
    await busy(button, async () => {
      try {
        v = await api(`${v.plan_url}/${direction}`, { method: "POST" });
        status.textContent = `${direction === "undo" ? "Undone" : "Redone"}: revision ${v.revision}`;
      } catch (err) {
        showError(error, err);
      }
      await loadPlan();
    });
    renderAll();
  };
  const reorder = (from, to, focus) => {
    if (from === to || to < 0 || to >= plan.shots.length) return;
    save((p) => { const [s] = p.shots.splice(from, 1); p.shots.splice(to, 0, s); }, `Shot ${from + 1} moved to position ${to + 1}`, focus && { index: to, ...focus });
  };

  // -- the shot list -----------------------------------------------------------------------
  const shotItem = (shot, i) => {
    const n = plan.shots.length;
    const clip = clips.get(shot.clip_id);
    const name = clip ? clip.source_name : shot.source.split("/").pop();
    const line = h("textarea", { rows: "2", maxlength: "500", id: `line-${i}`, value: shot.line || "", placeholder: "No line: music only over this shot" });
    line.addEventListener("change", () => {
      const text = line.value.trim();
      save((p) => { p.shots[i].line = text || null; p.shots[i].spoken = null; }, `Line of shot ${i + 1}`);
    });
    const transition = h("select", { id: `transition-${i}` },
      [...new Set([...TRANSITIONS, shot.transition])].map((t) => h("option", { value: t }, transitionName(t))));
    transition.value = shot.transition;
    transition.addEventListener("change", () => save((p) => { p.shots[i].transition = transition.value; }, `Transition after shot ${i + 1}`));
    const tlen = h("input", { type: "number", id: `tlen-${i}`, min: "0.1", max: "2", step: "0.1", value: shot.transition_s });
    tlen.addEventListener("change", () => save((p) => { p.shots[i].transition_s = Number(tlen.value); }, `Transition length of shot ${i + 1}`));
    const inS = h("input", { type: "number", id: `in-${i}`, min: "0", step: "0.1", value: shot.in_s });
    const outS = h("input", { type: "number", id: `out-${i}`, min: "0.1", step: "0.1", value: shot.out_s });
    const trimError = h("small", { class: "bad", role: "alert" });
    const trim = () => {
      const a = Number(inS.value);
      const b = Number(outS.value);
      if (!(b > a) || a < 0) {
        trimError.textContent = "Out must be after in.";
        return;
      }
      trimError.textContent = "";
      save((p) => { p.shots[i].in_s = a; p.shots[i].out_s = b; }, `Trim of shot ${i + 1}`);
    };
    inS.addEventListener("change", trim);
    outS.addEventListener("change", trim);

    const up = h("button", { type: "button", class: "small move-up", disabled: i === 0, "aria-label": `Move shot ${i + 1} up`, onclick: () => reorder(i, i - 1, { sel: ".move-up", alt: ".move-down" }) }, "↑ Move up");
    const down = h("button", { type: "button", class: "small move-down", disabled: i === n - 1, "aria-label": `Move shot ${i + 1} down`, onclick: () => reorder(i, i + 1, { sel: ".move-down", alt: ".move-up" }) }, "↓ Move down");
    const swap = h("button", { type: "button", class: "small swap", "aria-expanded": String(openSwap === i), "aria-controls": `swap-${i}`, onclick() { openSwap = openSwap === i ? null : i; renderShots(); list.querySelector(`[data-shot="${i}"] .swap`)?.focus(); } }, openSwap === i ? "Close" : "Swap clip…");
    const handle = h("span", { class: "handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true" }, "⠿");
    const li = h("li", { class: "shot", dataset: { shot: String(i), clip: shot.clip_id || "" } },
      handle,
      h("div", { class: "shot-thumb" }, h("span", { class: "num" }, String(i + 1)),
        clip ? h("img", { src: clip.thumbnail_url, alt: `Shot ${i + 1}: ${name}` }) : h("span", { class: "noimg" }, "no thumbnail")),
      h("div", { class: "shot-body" },
        h("p", { class: "shot-meta" }, h("strong", {}, name), h("span", { class: "muted small" }, ` ${seconds(shot.in_s)}–${seconds(shot.out_s)} (${seconds(shot.out_s - shot.in_s)})`)),
        field(`Line of shot ${i + 1}`, line),
        h("div", { class: "shot-controls" },
          field("Transition into the next", transition),
          shot.transition !== "cut" ? field("Length (s)", tlen) : null,
          field("In (s)", inS), field("Out (s)", outS), trimError)),
      h("div", { class: "shot-buttons" }, up, down, swap),
      openSwap === i ? candidatesPanel(i) : null);

    handle.addEventListener("dragstart", (e) => {
      dragFrom = i;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData(SHOT_MIME, String(i));
      e.dataTransfer.setData("text/plain", `shot ${i + 1}`);
      e.dataTransfer.setDragImage(li, 24, 24);
      li.classList.add("dragging");
    });
    handle.addEventListener("dragend", () => { dragFrom = null; li.classList.remove("dragging"); });
    const after = (e) => { const r = li.getBoundingClientRect(); return e.clientY > r.top + r.height / 2; };
    li.addEventListener("dragover", (e) => {
      if (!e.dataTransfer.types.includes(SHOT_MIME)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      li.classList.toggle("drop-after", after(e));
      li.classList.toggle("drop-before", !after(e));
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-after", "drop-before"));
    li.addEventListener("drop", (e) => {
      if (!e.dataTransfer.types.includes(SHOT_MIME)) return;
      e.preventDefault();
      li.classList.remove("drop-after", "drop-before");
      const raw = e.dataTransfer.getData(SHOT_MIME);
      const from = raw !== "" ? Number(raw) : dragFrom;
      if (from === null || Number.isNaN(from)) return;
      let to = after(e) ? i + 1 : i;
      if (from < to) to -= 1;
      reorder(from, to);
    });
    return li;
  };

  const candidatesPanel = (i) => {
    const box = h("div", { class: "candidates", id: `swap-${i}` }, h("p", { class: "muted" }, "Finding the best clips for this line…"));
    api(`variants/${v.id}/shots/${i}/candidates?limit=6`).then((out) => {
      const score = (x) => (x === null || x === undefined ? "–" : x.toFixed(2));
      fill(box, h("p", { class: "small muted" }, out.line ? `Clips ranked by how well they fit “${out.line}”, as the planner scores them.` : "Clips ranked by the planner's score (this shot has no line)."),
        h("ul", {}, out.candidates.map((c) => {
          const clip = clips.get(c.clip_id);
          const name = clip ? clip.source_name : c.source.split("/").pop();
          const use = h("button", { type: "button", class: "small primary", disabled: c.current, async onclick() {
            openSwap = null;
            await save((p) => { Object.assign(p.shots[i], c.shot); }, `Shot ${i + 1} swapped for ${name}`, { index: i, sel: ".swap" });
          } }, c.current ? "In this shot" : "Use this clip");
          return h("li", { class: `candidate${c.current ? " current" : ""}`, dataset: { clip: c.clip_id } },
            h("img", { src: c.thumbnail_url, alt: "" }),
            h("div", {},
              h("strong", {}, name), h("span", { class: "muted small" }, ` ${seconds(c.start_s)}–${seconds(c.end_s)}`),
              h("div", { class: "small" }, [c.line_score !== null ? `Fits the line: ${score(c.line_score)}` : null,
                c.selection_score !== null ? `planner score: ${score(c.selection_score)}` : null].filter(Boolean).join(" · ")),
              c.why ? h("div", { class: "small muted" }, c.why) : null,
              c.in_plan.length && !c.current ? h("div", { class: "small warn" }, `also in shot ${c.in_plan.map((k) => k + 1).join(", ")}`) : null,
              c.text ? h("div", { class: "small muted clip-text" }, c.text) : null),
            use);
        })));
    }).catch((err) => showError(box, err));
    return box;
  };

  const renderShots = () => {
    fill(list, plan.shots.map(shotItem));
    if (pendingFocus) {
      const li = list.querySelector(`[data-shot="${pendingFocus.index}"]`);
      const target = li && ([pendingFocus.sel, pendingFocus.alt].map((s) => s && li.querySelector(s)).find((b) => b && !b.disabled));
      if (target) target.focus();
      pendingFocus = null;
    }
  };

  // -- music -----------------------------------------------------------------------------
  const renderMusic = () => {
    const m = plan.music;
    const track = m && tracks.find((t) => t.id === m.track_id || t.source === m.source);
    const select = h("select", { id: "music-track" }, h("option", { value: "" }, "No music"),
      tracks.map((t) => h("option", { value: t.id }, `${t.source_name} (${seconds(t.duration_s)})`)));
    select.value = track ? track.id : "";
    select.addEventListener("change", () => {
      const t = tracks.find((x) => x.id === select.value);
      save((p) => {
        p.music = t ? { ...(p.music || {}), source: t.source, track_id: t.id, start_s: t.windows[0]?.start_s || 0 } : null;
      }, t ? `Music: ${t.source_name}` : "Music removed");
    });
    const start = h("input", { type: "number", id: "music-start", min: "0", step: "0.5", value: m ? m.start_s : 0, disabled: !m });
    start.addEventListener("change", () => save((p) => { p.music.start_s = Math.max(0, Number(start.value)); }, "Music start"));
    const windows = track?.windows?.length ? h("div", { class: "row small" }, h("span", { class: "muted" }, "Suggested starts: "),
      track.windows.slice(0, 5).map((w) => h("button", { type: "button", class: "small link", onclick: () => save((p) => { p.music.start_s = w.start_s; }, "Music start") }, seconds(w.start_s)))) : null;
    fill(music, h("h2", { id: "music-h" }, "Music"),
      h("div", { class: "grid2" }, field("Track", select), field("Starts at (s) in the track", start)), windows,
      track ? h("audio", { controls: true, preload: "none", src: `${track.media_url}#t=${m.start_s}`, "aria-label": "Listen from this start" }) : null);
  };

  // -- render side ------------------------------------------------------------------------
  const renderSide = () => {
    const working = job && ACTIVE.has(job.state);
    const shown = shownRender(v);
    const stale = !shown || shown.stale; // nothing rendered shows the current revision
    const preview = h("button", { type: "button", id: "render-preview", class: stale ? "primary" : "", disabled: working, async onclick() { job = await startRender(v, "preview", preview); renderSide(); } }, "Render preview");
    const full = h("button", { type: "button", id: "render-full", disabled: working, async onclick() { job = await startRender(v, "full", full); renderSide(); } }, "Full render");
    fill(side, player(v, working ? job : null),
      stale && shown ? h("p", { class: "stale-note", id: "stale-note" }, `This ${shown.quality === "full" ? "render" : "preview"} shows revision ${shown.revision}; the plan is at revision ${v.revision}. Render again to see your edits.`) : null,
      renderState(v, "preview", working && job.params?.quality !== "full" ? job : null),
      renderState(v, "full", working && job.params?.quality === "full" ? job : null),
      h("div", { class: "row" }, preview, full),
      qcLine(v), downloads(v),
      h("p", { class: "muted small" }, "The ", h("a", { href: v.plan_url, target: "_blank", id: "plan-json" }, "plan (JSON)"),
        " is saved on the server; the command line renders this same edit: ", h("code", {}, `adcut render ${v.plan_file} -o ad.mp4`)));
  };

  const renderHead = () => {
    revText.textContent = `revision ${v.revision} · ${plan.shots.length} shots · ${plan.aspect}`;
    undoBtn.disabled = !v.can_undo;
    redoBtn.disabled = !v.can_redo;
  };
  const renderAll = () => { renderHead(); renderShots(); renderMusic(); renderSide(); };

  // -- live updates -----------------------------------------------------------------------
  const off = onJob(async (j) => {
    const mine = j.variant_id === v.id || (j.kind === "edit" && j.detail?.rendering === v.id);
    if (!mine) return;
    const changed = !job || job.id !== j.id || job.state !== j.state;
    job = j;
    if (changed || !ACTIVE.has(j.state)) v = await api(`variants/${v.id}`);
    renderHead();
    renderSide();
  });

  await loadPlan();
  if (v.active_jobs.length) job = await api(`jobs/${v.active_jobs[0]}`);
  fill(root,
    h("div", { class: "page-head editor-head" },
      h("div", {}, h("a", { href: "#/variants", class: "back" }, "← All variants"), title, revText),
      h("div", { class: "row" }, undoBtn, redoBtn, status)),
    error,
    h("div", { class: "editor" },
      h("div", { class: "main-col" },
        h("section", { class: "panel", "aria-labelledby": "shots-h" },
          h("h2", { id: "shots-h" }, "Shots"),
          h("p", { class: "muted small", id: "shots-help" }, "Drag a shot by its handle ⠿ to reorder it, or use Move up and Move down. Edit a line and leave the box to save it. Every change is a new revision: undo and redo go back and forth."),
          list),
        music),
      side));
  renderAll();
  return off;
}
