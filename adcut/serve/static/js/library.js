// The library view: create or choose a library; add footage and music (drop files, choose
// them, or import a folder on the server); watch each ingest job's files live; browse the
// clips (thumbnail, caption, transcript, text on screen, duration), play any of them, filter
// them by text; list the music.
//
// API: GET/POST /libraries, GET /libraries/ID, POST /libraries/ID/uploads (multipart),
// GET /roots, GET /roots/browse, POST /libraries/ID/ingest, GET /jobs?kind=ingest,
// POST /jobs/ID/cancel|retry, GET /libraries/ID/clips?q=, GET /libraries/ID/tracks,
// and the job events (one stream for the page).
import { api, upload, onJob } from "./api.js";
import { h, fill, field, seconds, bytes, toast, showError, progressBar, throttle, busy } from "./ui.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const AUDIO_EXT = /\.(wav|mp3|m4a|aac|flac|ogg|oga|opus|aif|aiff|wma)$/i;

export async function mount(root, ctx) {
  const lib = ctx.library;
  if (!lib) {
    fill(root, h("section", { class: "panel start" }, h("h1", {}, "Start a library"),
      h("p", { class: "lead" }, "A library holds the footage and the music your ads are cut from. Name your first one."),
      newLibraryForm(ctx, true)));
    root.querySelector("input").focus();
    return null;
  }

  const stats = h("p", { class: "lead", id: "library-stats" });
  const jobsBox = h("div", { class: "jobs", id: "ingest-jobs" });
  const clipsBox = h("div", { class: "clips", id: "clips" });
  const tracksBox = h("div", { class: "tracks", id: "tracks" });
  const clipCount = h("span", { class: "muted", id: "clip-count" });
  const filter = h("input", { type: "search", id: "clip-filter", placeholder: "e.g. running shoe, beach, logo", autocomplete: "off" });

  fill(root,
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, lib.name), stats),
      h("details", { class: "new-library" }, h("summary", { class: "button" }, "New library"), newLibraryForm(ctx, false))),
    h("div", { class: "two" },
      h("section", { class: "panel", "aria-labelledby": "add-h" }, h("h2", { id: "add-h" }, "Add footage and music"), uploader(lib, jobsBox)),
      h("section", { class: "panel", "aria-labelledby": "import-h" }, h("h2", { id: "import-h" }, "Import from a folder on the server"), importer(lib))),
    h("section", { "aria-labelledby": "jobs-h", class: "jobs-section" }, h("h2", { id: "jobs-h" }, "Ingest"), jobsBox),
    h("section", { "aria-labelledby": "clips-h" },
      h("div", { class: "section-head" }, h("h2", { id: "clips-h" }, "Clips ", clipCount),
        field("Filter clips by text", filter)),
      clipsBox),
    h("section", { "aria-labelledby": "music-h" }, h("h2", { id: "music-h" }, "Music"), tracksBox));

  const showStats = (l) => {
    const c = l.counts || {};
    stats.textContent = l.ready
      ? `${plural(c.clips || 0, "clip")} from ${plural(c.footage_files || 0, "file")} · ${seconds(l.footage_s)} of footage · ${plural(c.music_tracks || 0, "music track")} (${seconds(l.music_s)})`
      : "Nothing here yet: add footage and music below.";
  };
  showStats(lib);

  const jobs = new Map(); // id -> {job, el}
  const renderJob = (job) => {
    let entry = jobs.get(job.id);
    if (entry && entry.job.seq > job.seq) return;
    const el = jobCard(job);
    if (entry) entry.el.replaceWith(el);
    else jobsBox.prepend(el);
    jobs.set(job.id, { job, el });
    jobsBox.querySelector(".empty")?.remove();
  };

  const loadClips = async () => {
    const q = filter.value.trim();
    const list = await api(`libraries/${lib.id}/clips?limit=1000${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    clipCount.textContent = q ? `(${list.total} match)` : `(${list.total})`;
    fill(clipsBox, list.items.length ? list.items.map(clipCard)
      : h("p", { class: "empty" }, q ? "No clip matches these words." : "No clips yet: add footage above."));
  };
  const loadTracks = async () => {
    const tracks = await api(`libraries/${lib.id}/tracks`);
    fill(tracksBox, tracks.length ? h("ul", { class: "track-list" }, tracks.map(trackRow))
      : h("p", { class: "empty" }, "No music yet: drop audio files above."));
  };
  const refreshAll = throttle(async () => {
    showStats(await ctx.refreshLibrary());
    await Promise.all([loadClips(), loadTracks()]);
  }, 250);

  filter.addEventListener("input", throttle(loadClips, 200));
  const off = onJob((job) => {
    if (job.kind !== "ingest" || job.library_id !== lib.id) return;
    renderJob(job);
    if (job.state === "done" || (job.state === "failed" && job.detail?.files?.some((f) => f.status === "ingested"))) refreshAll();
  });
  jobsBox.addEventListener("adcut:job", (e) => renderJob(e.detail));

  const recent = await api(`jobs?kind=ingest&library_id=${lib.id}&limit=4`);
  if (!recent.items.length) jobsBox.append(h("p", { class: "empty" }, "Files you add are ingested here, each with its progress."));
  for (const job of recent.items.reverse()) renderJob(job);
  await Promise.all([loadClips(), loadTracks()]);
  return off;
}

function newLibraryForm(ctx, first) {
  const name = h("input", { type: "text", required: true, maxlength: "100", placeholder: "e.g. Spring campaign", autocomplete: "off" });
  const error = h("div", { class: "error", hidden: true });
  const button = h("button", { type: "submit", class: "primary" }, first ? "Create the library" : "Create");
  return h("form", {
    class: "inline-form",
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      await busy(button, async () => {
        try {
          const made = await api("libraries", { method: "POST", json: { name: name.value } });
          await ctx.refreshLibraries();
          toast(`Library “${made.name}” created`);
          ctx.selectLibrary(made.id);
        } catch (err) {
          showError(error, err);
        }
      });
    },
  }, field("Library name", name), button, error);
}

// -- adding files --------------------------------------------------------------------------

function uploader(lib, jobsBox) {
  // the file input is reached through its button (a label is not keyboard-focusable)
  const input = h("input", { type: "file", id: "file-input", multiple: true, accept: "video/*,image/png,image/jpeg,image/webp,audio/*", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true" });
  const asr = h("input", { type: "checkbox", id: "opt-asr", checked: true });
  const ocr = h("input", { type: "checkbox", id: "opt-ocr", checked: true });
  const status = h("div", { class: "uploads", id: "upload-status" });
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    h("p", {}, h("strong", {}, "Drop video, image and music files here")),
    h("p", { class: "muted" }, "or"),
    h("button", { type: "button", class: "primary", id: "choose-files", onclick: () => input.click() }, "Choose files…"), input,
    h("p", { class: "muted small" }, "Audio files become music; video and images become footage."));

  const send = async (files) => {
    files = [...files];
    if (!files.length) return;
    const music = files.filter((f) => f.type.startsWith("audio/") || AUDIO_EXT.test(f.name));
    const footage = files.filter((f) => !music.includes(f));
    for (const [kind, group] of [["footage", footage], ["music", music]]) {
      if (!group.length) continue;
      const form = new FormData();
      for (const f of group) form.append("files", f, f.name);
      form.append("kind", kind);
      form.append("asr", asr.checked ? "tiny.en" : "none");
      form.append("ocr", ocr.checked ? "rapidocr" : "none");
      const total = group.reduce((n, f) => n + f.size, 0);
      const bar = progressBar(`Uploading ${kind}`);
      const row = h("div", { class: "upload-row" }, h("span", {}, `${group.length} ${kind} file${group.length > 1 ? "s" : ""} (${bytes(total)})`), bar.el);
      status.prepend(row);
      bar.set(0, "uploading…");
      try {
        const out = await upload(`libraries/${lib.id}/uploads`, form, (f) => bar.set(f, `uploading… ${Math.round(f * 100)}%`));
        bar.set(1, "uploaded; ingesting below");
        if (out.job) jobsBox.dispatchEvent(new CustomEvent("adcut:job", { detail: out.job }));
        setTimeout(() => row.remove(), 4000);
      } catch (err) {
        bar.set(0, "");
        row.append(h("div", { class: "error", role: "alert" }, err.message, err.hint ? ` ${err.hint}` : ""));
      }
    }
  };

  input.addEventListener("change", () => {
    send(input.files);
    input.value = "";
  });
  const isFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  zone.addEventListener("dragover", (e) => {
    if (!isFiles(e)) return;
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    if (!isFiles(e)) return;
    e.preventDefault();
    zone.classList.remove("over");
    send(e.dataTransfer.files);
  });
  return h("div", {}, zone,
    h("fieldset", { class: "options" }, h("legend", {}, "While ingesting"),
      h("label", { class: "check" }, asr, " Transcribe speech (slower)"),
      h("label", { class: "check" }, ocr, " Read text on screen (slower)")),
    status);
}

function importer(lib) {
  const box = h("div", { class: "browser", id: "server-browser" });
  const error = h("div", { class: "error", hidden: true });
  const asMusic = h("input", { type: "checkbox" });

  const ingest = async (button, paths) => {
    error.hidden = true;
    await busy(button, async () => {
      try {
        const job = await api(`libraries/${lib.id}/ingest`, { method: "POST", json: { paths, kind: asMusic.checked ? "music" : "footage" } });
        document.getElementById("ingest-jobs")?.dispatchEvent(new CustomEvent("adcut:job", { detail: job }));
        toast(`Importing ${paths.length === 1 ? paths[0].split("/").pop() : `${paths.length} items`}`);
      } catch (err) {
        showError(error, err);
      }
    });
  };

  const open = async (path, roots) => {
    error.hidden = true;
    try {
      const listing = await api(`roots/browse?path=${encodeURIComponent(path)}`);
      const atRoot = roots.includes(listing.path);
      const up = listing.path.replace(/\/[^/]+$/, "") || "/";
      const picked = new Set();
      const importPicked = h("button", { type: "button", disabled: true, async onclick() { await ingest(importPicked, [...picked]); } }, "Import the chosen files");
      const rows = listing.entries.map((e) => {
        if (e.kind === "folder") return h("li", {}, h("button", { type: "button", class: "link folder", onclick: () => open(e.path, roots) }, e.name));
        const box = h("input", { type: "checkbox", onchange: () => {
          box.checked ? picked.add(e.path) : picked.delete(e.path);
          importPicked.disabled = !picked.size;
        } });
        return h("li", {}, h("label", { class: "check" }, box, ` ${e.name} `, h("span", { class: "muted small" }, `${e.kind}, ${bytes(e.size_bytes || 0)}`)));
      });
      const whole = h("button", { type: "button", async onclick() { await ingest(whole, [listing.path]); } }, "Import this whole folder");
      fill(box,
        h("div", { class: "crumbs" },
          h("button", { type: "button", class: "link", onclick: () => showRoots(roots) }, "All folders"),
          atRoot ? null : h("button", { type: "button", class: "link", onclick: () => open(up, roots) }, "↑ Up"),
          h("code", {}, listing.path)),
        rows.length ? h("ul", { class: "entries" }, rows) : h("p", { class: "empty" }, "No media files or folders here."),
        h("div", { class: "row" }, whole, importPicked));
    } catch (err) {
      showError(error, err);
    }
  };

  const showRoots = (roots) => fill(box, h("ul", { class: "entries" }, roots.map((r) =>
    h("li", {}, h("button", { type: "button", class: "link folder", onclick: () => open(r, roots) }, r)))));

  api("roots").then((info) => {
    const roots = info.import_roots.filter((r) => r.exists).map((r) => r.path);
    showRoots(roots);
    box.before(h("p", { class: "muted small" }, "Footage already on the server: put it in ", h("code", {}, info.inbox),
      " or start adcut serve with --root FOLDER."));
  }).catch((err) => showError(error, err));
  return h("div", {}, box, h("label", { class: "check" }, asMusic, " Import as music"), error);
}

// -- ingest jobs ---------------------------------------------------------------------------

const FILE_STATE = { queued: "waiting", running: "ingesting", ingested: "done", unchanged: "already in the library", skipped: "skipped", failed: "failed" };

function jobCard(job) {
  const bar = progressBar("Ingest progress");
  bar.set(job.progress, job.message);
  const files = (job.detail && job.detail.files) || [];
  const actions = [];
  if (job.can_cancel) actions.push(h("button", { type: "button", class: "small", onclick: (e) => busy(e.target, () => api(`jobs/${job.id}/cancel`, { method: "POST" })) }, "Cancel"));
  if (job.can_retry) actions.push(h("button", { type: "button", class: "small", onclick: (e) => busy(e.target, () => api(`jobs/${job.id}/retry`, { method: "POST" })) }, "Retry"));
  return h("article", { class: `job state-${job.state}`, dataset: { job: job.id, state: job.state } },
    h("div", { class: "job-head" },
      h("strong", {}, job.params?.music ? "Music" : "Footage"),
      h("span", { class: `badge ${job.state}` }, job.state),
      bar.el, ...actions),
    job.error ? h("p", { class: "error" }, job.error.message, job.error.hint ? ` ${job.error.hint}` : "") : null,
    files.length ? h("ul", { class: "files" }, files.map((f) => {
      const p = h("progress", { max: "1", value: String(f.progress ?? 0), "aria-label": `${f.name} progress` });
      return h("li", { dataset: { status: f.status } }, h("span", { class: "name" }, f.name), p,
        h("span", { class: `file-state ${f.status}` }, FILE_STATE[f.status] || f.status,
          f.clips ? ` · ${f.clips} clip${f.clips > 1 ? "s" : ""}` : "", f.message ? ` · ${f.message}` : ""));
    })) : null);
}

// -- clips and tracks ----------------------------------------------------------------------

function clipCard(clip) {
  const media = h("div", { class: "media" },
    h("img", { src: clip.thumbnail_url, alt: "", loading: "lazy" }),
    h("span", { class: "duration" }, seconds(clip.duration_s)));
  const play = h("button", {
    type: "button", class: "play", "aria-label": `Play ${clip.source_name} ${seconds(clip.start_s)} to ${seconds(clip.end_s)}`,
    onclick() {
      const video = h("video", { src: clip.media_url, controls: true, autoplay: true, preload: "auto", playsinline: true });
      fill(media, video);
      video.focus();
    },
  }, "▶ Play");
  media.append(play);
  const labels = clip.labels?.length ? h("p", { class: "labels muted small" }, clip.labels.slice(0, 3).join(" · ")) : null;
  return h("article", { class: "clip", dataset: { clip: clip.id } },
    media,
    h("h3", { title: clip.source }, clip.source_name, h("span", { class: "muted" }, ` ${seconds(clip.start_s)}–${seconds(clip.end_s)}`)),
    clip.caption ? h("p", { class: "caption" }, clip.caption) : null,
    clip.transcript ? h("p", { class: "transcript" }, h("span", { class: "muted small" }, "Said: "), clip.transcript) : null,
    clip.on_screen ? h("p", { class: "on-screen" }, h("span", { class: "muted small" }, "On screen: "), clip.on_screen) : null,
    labels);
}

function trackRow(t) {
  return h("li", { class: "track", dataset: { track: t.id } },
    h("div", {}, h("strong", {}, t.source_name), h("span", { class: "muted small" },
      ` ${seconds(t.duration_s)}${t.tempo_bpm ? ` · ${Math.round(t.tempo_bpm)} BPM` : ""}${t.lufs !== null ? ` · ${t.lufs} LUFS` : ""}`),
    t.tags.length ? h("div", { class: "muted small" }, t.tags.slice(0, 4).join(" · ")) : null),
    h("audio", { src: t.media_url, controls: true, preload: "none", "aria-label": `Play ${t.source_name}` }));
}

