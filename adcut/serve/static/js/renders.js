// What the variant cards and the editor both show of a variant's renders: the player (poster
// frame, then the video in the page), the QC result, each render's state with its stale
// marker, and the downloads (MP4, SRT, OTIO, manifest, QC report).
import { api } from "./api.js";
import { h, fill, seconds, busy, toast } from "./ui.js";

/** The render to play and download: the newest finished one of the current revision, a full
 * render before a preview; else the newest finished one at all. */
export function shownRender(v) {
  const done = [v.full, v.preview].filter((r) => r && r.state === "done");
  return done.find((r) => !r.stale) || done[0] || null;
}

/** The poster frame with a play button; the video plays in its place. */
export function player(v, job) {
  const r = shownRender(v);
  const box = h("div", { class: "player", dataset: { render: r ? r.id : "" } });
  if (!r) {
    const msg = job ? `${job.message || job.state} (${Math.round((job.progress || 0) * 100)}%)` : "Not rendered yet";
    return fill(box, h("div", { class: "placeholder" }, h("span", {}, msg)));
  }
  const play = () => {
    const video = h("video", { src: r.files.mp4, poster: r.poster_url || "", controls: true, autoplay: true, playsinline: true, preload: "auto", "aria-label": `${v.name}, ${r.quality}` });
    fill(box, video);
    video.focus();
  };
  return fill(box,
    r.poster_url ? h("img", { src: r.poster_url, alt: `Poster frame of ${v.name}` }) : h("div", { class: "placeholder" }),
    h("button", { type: "button", class: "play", onclick: play, "aria-label": `Play ${v.name} (${r.quality})` }, `▶ Play ${r.quality}`),
    r.stale ? h("span", { class: "stale-flag" }, "out of date") : null);
}

export function qcLine(v) {
  if (v.qc_ok === null || v.qc_ok === undefined) return h("p", { class: "qc muted small" }, "QC: after the first render");
  const failed = (v.qc || []).filter((c) => !c.ok);
  return h("details", { class: `qc ${v.qc_ok ? "ok" : "bad"}` },
    h("summary", {}, v.qc_ok ? "✓ QC passed" : `✗ QC failed: ${failed.map((c) => c.name).join(", ")}`),
    h("ul", {}, (v.qc || []).map((c) => h("li", { class: c.ok ? "ok" : "bad" },
      h("span", { class: "mark", "aria-label": c.ok ? "passed" : "failed" }, c.ok ? "✓" : "✗"), ` ${c.name}: ${c.detail}`))));
}

const LABEL = { preview: "Preview", full: "Full render" };

/** "Preview: ready, revision 2, 640×360, 6.0 s" with its stale marker and the running job. */
export function renderState(v, quality, job) {
  const r = v[quality];
  const parts = [h("strong", {}, `${LABEL[quality]}: `)];
  if (job && job.state !== "done") {
    parts.push(h("span", { class: "working" }, `${job.message || job.state} · ${Math.round((job.progress || 0) * 100)}%`));
  } else if (!r) {
    parts.push(h("span", { class: "muted" }, "not rendered"));
  } else if (r.state === "done") {
    parts.push(`ready · revision ${r.revision} · ${r.width}×${r.height} · ${seconds(r.duration_s)}`);
    if (r.stale) parts.push(h("span", { class: "stale", title: "The plan was edited after this render" }, ` · out of date (the plan is at revision ${v.revision})`));
  } else {
    parts.push(h("span", { class: r.state === "failed" ? "bad" : "muted" }, r.state));
  }
  return h("p", { class: `render-state ${quality}`, dataset: { quality, state: r ? r.state : "none", stale: r?.stale ? "1" : "0" } }, parts);
}

const FILES = [["mp4", "MP4"], ["srt", "Subtitles (SRT)"], ["otio", "Timeline (OTIO)"], ["manifest", "Manifest"], ["qc", "QC report"]];

export function downloads(v) {
  const r = shownRender(v);
  if (!r) return h("p", { class: "downloads muted small" }, "Downloads appear when a render is ready.");
  return h("div", { class: "downloads" }, h("span", { class: "muted small" }, `Download (${r.quality}, revision ${r.revision}): `),
    FILES.filter(([k]) => r.files[k]).map(([k, label]) =>
      h("a", { href: `${r.files[k]}?download=1`, download: "", class: `dl dl-${k}`, dataset: { file: k } }, label)));
}

/** Start a render of the variant's current revision; returns the job. */
export async function startRender(v, quality, button) {
  const out = await busy(button, () => api(`variants/${v.id}/renders`, { method: "POST", json: { quality } }));
  toast(`${LABEL[quality]} of ${v.name} started`);
  return out.job;
}
