// The brief view: the saved briefs, and a form for one (product, brand, selling points,
// description, language, tone, duration, aspect, call to action, voice, product images,
// logo), saved to be reused; "Make variants" goes on to the variants view with it.
//
// API: GET/POST /briefs, GET/PUT/DELETE /briefs/ID (validated by the brief model the command
// line uses; its limits come from GET /schemas/brief), POST /assets and GET /assets (images).
import { api, upload } from "./api.js";
import { h, fill, field, toast, showError, busy, when } from "./ui.js";

const LANGUAGES = [["auto", "Same as the brief's text"], ["en", "English"], ["zh", "中文 (Chinese)"],
  ["ja", "日本語 (Japanese)"], ["ko", "한국어 (Korean)"], ["es", "Español"], ["fr", "Français"],
  ["de", "Deutsch"], ["pt", "Português"], ["it", "Italiano"]];
const ASPECTS = [["9:16", "9:16 vertical (Reels, TikTok)"], ["1:1", "1:1 square"],
  ["4:5", "4:5 portrait feed"], ["16:9", "16:9 landscape"]];
const TONES = ["energetic", "calm", "playful", "premium", "warm", "bold", "minimal", "funny"];

export async function mount(root, ctx, briefId) {
  const [briefs, schema, assets] = await Promise.all([api("briefs"), api("schemas/brief"), api("assets")]);
  const current = briefId ? await api(`briefs/${briefId}`) : null;
  if (current) ctx.briefId = current.id;
  const props = schema.properties;
  const known = new Map(assets.map((a) => [a.path, a])); // server path -> {url, name}

  const list = h("ul", { class: "brief-list", id: "brief-list" }, briefs.map((b) =>
    h("li", { class: b.id === briefId ? "current" : "" },
      h("a", { href: `#/brief/${b.id}`, "aria-current": b.id === briefId ? "true" : null },
        h("strong", {}, b.name), h("span", { class: "muted small" }, `${b.brief.product} · ${b.brief.duration_s} s · ${b.brief.aspect}`),
        h("span", { class: "muted small" }, `saved ${when(b.updated_at)}`)))));

  const data = current ? current.brief : {};
  const input = (name, attrs = {}) => h("input", { type: "text", name, id: `brief-${name}`, value: data[name] ?? "", autocomplete: "off", ...attrs });
  const f = {
    name: h("input", { type: "text", id: "brief-name", value: current?.name || "", maxlength: "120", autocomplete: "off" }),
    product: input("product", { required: true, maxlength: props.product.maxLength }),
    brand: input("brand", { maxlength: props.brand.maxLength }),
    selling_points: h("textarea", { id: "brief-selling_points", rows: "4", value: (data.selling_points || []).join("\n") }),
    description: h("textarea", { id: "brief-description", rows: "3", value: data.description || "", maxlength: props.description.maxLength }),
    language: h("select", { id: "brief-language" }, LANGUAGES.map(([v, t]) => h("option", { value: v }, t))),
    tone: input("tone", { list: "tones", value: data.tone ?? "energetic" }),
    duration_s: h("input", { type: "number", id: "brief-duration_s", min: props.duration_s.minimum, max: props.duration_s.maximum, step: "1", required: true, value: data.duration_s ?? 15 }),
    aspect: h("select", { id: "brief-aspect" }, ASPECTS.map(([v, t]) => h("option", { value: v }, t))),
    call_to_action: input("call_to_action", { placeholder: "e.g. Shop now" }),
    price: input("price", { placeholder: "e.g. $89" }),
    offer: input("offer", { placeholder: "e.g. 20% off this week" }),
    url: input("url", { placeholder: "e.g. spark.example" }),
    voice: h("input", { type: "checkbox", id: "brief-voice", checked: current ? current.voice : true }),
  };
  if (data.language && !LANGUAGES.some(([v]) => v === data.language)) f.language.append(h("option", { value: data.language }, data.language));
  f.language.value = data.language || "auto";
  f.aspect.value = data.aspect || "9:16";

  const images = imagePicker("Product images", data.product_images || [], known, true, "brief-images");
  const logo = imagePicker("Logo", data.logo ? [data.logo] : [], known, false, "brief-logo");
  const error = h("div", { class: "error", hidden: true, id: "brief-error" });

  const body = () => {
    const text = (el) => el.value.trim() || null;
    return {
      name: f.name.value.trim(),
      voice: f.voice.checked,
      brief: {
        product: f.product.value.trim(), brand: f.brand.value.trim(),
        selling_points: f.selling_points.value.split("\n").map((s) => s.trim()).filter(Boolean),
        description: f.description.value.trim(), language: f.language.value,
        tone: f.tone.value.trim() || "energetic", duration_s: Number(f.duration_s.value),
        aspect: f.aspect.value, call_to_action: text(f.call_to_action), price: text(f.price),
        offer: text(f.offer), url: text(f.url), product_images: images.paths(), logo: logo.paths()[0] || null,
        // what the form does not show is kept as it was saved
        brand_colors: data.brand_colors || [], pronounce: data.pronounce || {},
      },
    };
  };

  const save = async (asNew) => {
    error.hidden = true;
    for (const el of Object.values(f)) el.removeAttribute("aria-invalid");
    if (!form.reportValidity()) return null;
    try {
      const saved = current && !asNew
        ? await api(`briefs/${current.id}`, { method: "PUT", json: body() })
        : await api("briefs", { method: "POST", json: body() });
      ctx.briefId = saved.id;
      toast(`Brief “${saved.name}” saved`);
      return saved;
    } catch (err) {
      showError(error, err);
      const bad = /brief\.(\w+)/.exec(err.message || "");
      if (bad && f[bad[1]]) {
        f[bad[1]].setAttribute("aria-invalid", "true");
        f[bad[1]].focus();
      }
      return null;
    }
  };

  const saveButton = h("button", { type: "submit", class: "primary", id: "save-brief" }, current ? "Save changes" : "Save brief");
  const makeButton = h("button", { type: "button", id: "brief-make", async onclick() {
    const unchanged = current && JSON.stringify(body()) === loaded;
    const saved = unchanged ? current : await busy(makeButton, () => save(false));
    if (saved) ctx.go("#/variants");
  } }, "Save and make variants →");
  const form = h("form", {
    class: "brief-form", id: "brief-form", novalidate: false,
    async onsubmit(e) {
      e.preventDefault();
      const saved = await busy(saveButton, () => save(false));
      if (saved) ctx.go(`#/brief/${saved.id}`);
    },
  },
  h("datalist", { id: "tones" }, TONES.map((t) => h("option", { value: t }))),
  field("Brief name (optional)", f.name, "Empty: the product's name"),
  h("fieldset", {}, h("legend", {}, "The product"),
    h("div", { class: "grid2" },
      field("Product *", f.product, "What the ad sells, e.g. Spark running shoe"),
      field("Brand", f.brand)),
    field("Selling points", f.selling_points, "One per line: each can become a line of the script."),
    field("Description", f.description, "Audience, setting, anything else worth knowing.")),
  h("fieldset", {}, h("legend", {}, "The ad"),
    h("div", { class: "grid3" },
      field("Duration (seconds)", f.duration_s, `${props.duration_s.minimum} to ${props.duration_s.maximum}`),
      field("Format", f.aspect),
      field("Language", f.language)),
    h("div", { class: "grid2" },
      field("Tone", f.tone, "e.g. energetic, calm, premium"),
      field("Call to action", f.call_to_action)),
    h("div", { class: "grid3" }, field("Price", f.price), field("Offer", f.offer), field("Web address", f.url)),
    h("label", { class: "check" }, f.voice, " Voice-over (off: subtitles and music only)")),
  h("fieldset", {}, h("legend", {}, "Images"),
    h("div", { class: "grid2" }, images.el, logo.el)),
  error,
  h("div", { class: "row actions" }, saveButton,
    current ? h("button", { type: "button", id: "save-as-new", async onclick(e) {
      const saved = await busy(e.target, () => save(true));
      if (saved) ctx.go(`#/brief/${saved.id}`);
    } }, "Save as a new brief") : null,
    makeButton,
    current ? h("button", { type: "button", class: "danger", async onclick(e) {
      if (!confirm(`Delete the brief “${current.name}”? Variants made from it stay.`)) return;
      await busy(e.target, () => api(`briefs/${current.id}`, { method: "DELETE" }));
      toast("Brief deleted");
      ctx.go("#/brief");
    } }, "Delete") : null));

  const loaded = JSON.stringify(body()); // the saved brief as the form shows it
  fill(root,
    h("div", { class: "page-head" }, h("div", {},
      h("h1", {}, current ? `Brief: ${current.name}` : "New brief"),
      h("p", { class: "lead" }, "What the ad must say and how it must feel. Saved briefs can be reused for any library."))),
    h("div", { class: "sidebar-layout" },
      h("aside", { class: "panel", "aria-labelledby": "saved-h" },
        h("h2", { id: "saved-h" }, "Saved briefs"),
        h("a", { class: "button", href: "#/brief", id: "new-brief" }, "+ New brief"),
        briefs.length ? list : h("p", { class: "empty" }, "None yet.")),
      h("section", { class: "panel" }, form)));
  return null;
}

/** Images uploaded with POST /assets; the brief keeps their server paths. */
function imagePicker(label, initial, known, many, id) {
  const paths = [...initial];
  const shown = h("ul", { class: "thumbs", id });
  const error = h("div", { class: "error", hidden: true });
  const input = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp", multiple: many, id: `${id}-input` });
  const render = () => fill(shown, paths.map((p, i) => h("li", {},
    known.has(p) ? h("img", { src: known.get(p).url, alt: "" }) : h("span", { class: "noimg" }, "image"),
    h("span", { class: "small", title: p }, known.get(p)?.name || p.split("/").pop()),
    h("button", { type: "button", class: "small", "aria-label": `Remove ${known.get(p)?.name || p.split("/").pop()}`, onclick() { paths.splice(i, 1); render(); } }, "Remove"))));
  input.addEventListener("change", async () => {
    error.hidden = true;
    for (const file of input.files) {
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        const out = await upload("assets", form);
        known.set(out.path, out);
        if (many) paths.push(out.path);
        else paths.splice(0, paths.length, out.path);
      } catch (err) {
        showError(error, err);
      }
    }
    input.value = "";
    render();
  });
  render();
  return { el: h("div", { class: "field" }, h("label", { for: input.id }, label), input, shown, error), paths: () => [...paths] };
}
