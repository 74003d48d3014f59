"""The fixed vocabulary of the synthetic world: product categories, shot types, visual
attributes and music moods, with the English words each one is spoken or captioned in.

These are the names the hidden rules tie together (adcut.eval.synthetic.world draws the
vectors and the ads); the words are chosen so a tiny language model trained from scratch
can learn them, and so the captions can never give a script line away:

- every category has its own products, brands and selling points (the words that tell a
  model which category, hence which music mood, an ad belongs to);
- every shot type has its place in the narrative template (`rank`) and its own line
  templates, so a line's wording says which kind of shot it goes with;
- every attribute is named in script lines by `line_words` (rare synonyms: "crimson",
  "cobalt") and in captions by `caption_word` (the plain word: "red", "blue"); the two sets
  are disjoint, and neither appears in a template, a product or a shot caption
  (tests/eval/test_synthetic.py checks it).

Changing anything here changes every world: `WORLD_VERSION` names this vocabulary and goes
into the dataset's encoder version, so a folder built from another vocabulary is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

WORLD_VERSION = "adcut-synthetic-world/1"


@dataclass(frozen=True)
class Category:
    """A product category: what its ads sell (name, brand) and say about it (points)."""

    name: str
    noun: str  # what the captions call the product
    products: tuple[tuple[str, str], ...]  # (product name, brand)
    selling_points: tuple[str, ...]


@dataclass(frozen=True)
class ShotType:
    """A kind of shot. `rank` is its place in the narrative template; `templates` are its
    script lines, `{w}` standing for the clip's attribute word, `{product}` / `{brand}` for
    the ad's product."""

    name: str
    rank: int
    templates: tuple[str, ...]
    caption: str  # how a caption describes such a shot


@dataclass(frozen=True)
class Attribute:
    """A visual attribute of a clip (a colour or material)."""

    name: str
    line_words: tuple[str, ...]  # how script lines name it
    caption_word: str  # how captions name it (never one of line_words)


CATEGORIES: tuple[Category, ...] = (
    Category("skincare", "serum bottle",
             (("Hydra Glow Serum", "Lumina"), ("Night Repair Cream", "Lumina"), ("Dew Drop Toner", "Velvetine")),
             ("deep hydration", "light texture", "visible glow", "gentle formula")),
    Category("sneakers", "running shoe",
             (("AirStride Runner", "Peakform"), ("Trail Blazer Pro", "Peakform"), ("Cloud Step Lite", "Fleetfoot")),
             ("springy cushioning", "breathable mesh", "firm grip", "featherweight build")),
    Category("coffee", "coffee bag",
             (("Morning Roast Beans", "Brewhaus"), ("Cold Brew Blend", "Brewhaus"), ("Espresso Forte", "Kaffeina")),
             ("rich aroma", "smooth finish", "fresh roasted", "fair trade")),
    Category("headphones", "headset",
             (("Quiet Wave Headphones", "Sonique"), ("Bass Pods Max", "Sonique"), ("Studio Loop Buds", "Auralis")),
             ("noise cancelling", "long battery", "deep bass", "soft cushions")),
    Category("toys", "toy robot",
             (("Build-a-Bot Kit", "Tinkerly"), ("Puzzle Planet Set", "Tinkerly"), ("Rocket Blocks", "Playwise")),
             ("hours of fun", "safe materials", "easy assembly", "learning through play")),
    Category("kitchen", "chef knife",
             (("Swift Chef Knife", "Forgeline"), ("Steady Cutting Board", "Forgeline"), ("Sharp Edge Set", "Cookcraft")),
             ("razor sharp", "balanced handle", "easy cleaning", "lasting edge")),
)

# The narrative template: hook -> product -> detail(s) -> call to action (world.py says which
# shots an ad has; their order always follows the ranks).
SHOT_TYPES: tuple[ShotType, ...] = (
    ShotType("hook", 0, ("Ever seen something this {w}?", "Stop scrolling for this {w} look.",
                         "Wait until you see the {w} one."), "an opening close-up"),
    ShotType("product", 1, ("Meet {product}, now in {w}.", "Here is {product} in {w}.",
                            "{brand} made it {w}."), "a clean product shot"),
    ShotType("detail", 2, ("Look closer at the {w} finish.", "Every {w} detail is made with care.",
                           "Feel the {w} texture up close."), "a slow detail pan"),
    ShotType("cta", 3, ("Get your {w} {product} today.", "Order the {w} edition now.",
                        "Tap to shop the {w} look."), "a closing end card"),
)

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("red", ("crimson", "scarlet", "ruby"), "red"),
    Attribute("blue", ("cobalt", "azure", "sapphire"), "blue"),
    Attribute("green", ("emerald", "jade", "verdant"), "green"),
    Attribute("gold", ("gilded", "golden", "brassy"), "yellow"),
    Attribute("silver", ("chrome", "silvery", "metallic"), "grey"),
    Attribute("wood", ("oaken", "walnut", "timber"), "brown"),
    Attribute("glass", ("crystal", "glassy", "translucent"), "clear"),
    Attribute("leather", ("suede", "leathery", "saddle"), "tan"),
    Attribute("black", ("ebony", "onyx", "jet"), "black"),
    Attribute("white", ("ivory", "pearly", "snowy"), "white"),
)

# Music moods; which category gets which mood is drawn per world (the hidden rule).
MOODS: tuple[str, ...] = ("calm", "upbeat", "warm", "energetic", "playful", "dramatic")


def caption_text(shot: ShotType, category: Category, attribute: Attribute) -> str:
    """A clip's caption: the shot, the product and the attribute's plain word."""
    return f"{shot.caption} of the {category.noun} in {attribute.caption_word} tones"


def line_text(template: str, word: str, product: str, brand: str) -> str:
    """A script line: a shot type's template with the attribute word and the product filled in."""
    return template.format(w=word, product=product, brand=brand)
