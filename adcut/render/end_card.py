"""The end card: where its images and text go (PURE), and the brand colours it is drawn in.

The card fills the frame with the brand's colour and stacks, centred inside the platform's safe
area (the same margins as the captions, see subtitles.safe_area): the logo, the product image,
the call to action and the URL. Sizes are fractions of the frame's shorter side, so the card
looks the same at 9:16, 1:1, 16:9 and 4:5 on a phone held the way the format is watched.

Images are scaled to fit the room left by the text and never enlarged more than
MAX_IMAGE_UPSCALE (a 120 px logo stays crisp instead of filling the card in blur). The text is
wrapped with the real font (subtitles.wrap_text) and shrunk, never cut, when it needs more than
MAX_CTA_LINES lines. The renderer draws the images with ffmpeg (graph.py) and the text with
libass (subtitles.build_ass), both from this one layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from adcut.core.timeline import CardImage, SubtitleLayout, TimelineEndCard

# Type sizes as fractions of the shorter side of the frame (at 1080 px: 97 and 59 px): the
# call to action larger than the captions (81 px), the URL a little smaller than them.
CTA_SIZE = 0.09
URL_SIZE = 0.055
MIN_TEXT_SIZE = 0.035  # a long call to action shrinks down to this, then wraps further
GAP = 0.04  # between the blocks
MAX_CTA_LINES = 3
# An image is shown at most this much larger than its file (the same bound reframing keeps):
# beyond it a small logo shows its pixels.
MAX_IMAGE_UPSCALE = 2.0
# With both images, the logo takes at most this share of the height the images share.
LOGO_SHARE = 0.3
# The images together take at most this share of the safe area's height, so the call to action
# stays the card's focus (a packshot would otherwise fill a 9:16 card).
IMAGES_SHARE = 0.55
FADE_IN_S = 0.4


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[str, ...]
    size_px: int
    top: int  # y of the block's top edge; centred horizontally on center_x
    center_x: int

    @property
    def height(self) -> int:
        return len(self.lines) * self.size_px


@dataclass(frozen=True)
class CardLayout:
    logo: Box | None
    image: Box | None
    cta: TextBlock | None
    url: TextBlock | None


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _fit(image: CardImage, max_w: float, max_h: float) -> tuple[int, int]:
    scale = min(max_w / image.width, max_h / image.height, MAX_IMAGE_UPSCALE)
    return _even(image.width * scale), _even(image.height * scale)


def _wrap(text: str, size_px: int, font: tuple[str, str], margin_h: int, width: int,
          max_lines: int, min_px: int) -> tuple[tuple[str, ...], int]:
    """Lines of `text` at the largest size from `size_px` down to `min_px` (10 % steps) that
    needs at most `max_lines` lines; at `min_px` whatever it takes."""
    from adcut.render.subtitles import wrap_text

    size = size_px
    while True:
        layout = SubtitleLayout(font_file=font[0], font_name=font[1], size_px=size,
                                margin_v_px=0, margin_h_px=margin_h)
        lines = wrap_text(text, layout, width)
        if len(lines) <= max_lines or size <= min_px:
            return tuple(lines), size
        size = max(min_px, int(size * 0.9))


def card_layout(card: TimelineEndCard, width: int, height: int) -> CardLayout:
    """Where the card's images and text go in a `width` x `height` frame (PURE, but for
    reading the font's metrics)."""
    from adcut.render.subtitles import safe_area

    left, top, right, bottom = safe_area(width, height)
    margin_h = max(left, right)  # centred content clears the wider side
    box_w, box_h = width - 2 * margin_h, height - top - bottom
    short = min(width, height)
    gap = round(GAP * short)
    font = (card.font_file, card.font_name)
    min_px = max(8, round(MIN_TEXT_SIZE * short))

    cta_lines, cta_px = ((), 0)
    if card.text:
        cta_lines, cta_px = _wrap(card.text, round(CTA_SIZE * short), font, margin_h, width,
                                  MAX_CTA_LINES, min_px)
    url_lines, url_px = ((), 0)
    if card.url:
        url_lines, url_px = _wrap(card.url, round(URL_SIZE * short), font, margin_h, width, 1,
                                  min_px)
    blocks_h = [h for h in (len(cta_lines) * cta_px, len(url_lines) * url_px) if h]
    text_h = sum(blocks_h) + gap // 2 * max(0, len(blocks_h) - 1)

    images = [im for im in (card.logo, card.image) if im is not None]
    room_h = min(IMAGES_SHARE * box_h,
                 box_h - text_h - (gap if text_h and images else 0)) - gap * max(0, len(images) - 1)
    sizes: list[tuple[int, int]] = []
    if len(images) == 2:
        logo_w, logo_h = _fit(images[0], box_w, room_h * LOGO_SHARE)
        sizes = [(logo_w, logo_h), _fit(images[1], box_w, room_h - logo_h)]
    elif images:
        sizes = [_fit(images[0], box_w, room_h)]

    content_h = sum(h for _, h in sizes) + gap * max(0, len(sizes) - 1) \
        + (gap if text_h and sizes else 0) + text_h
    y = top + max(0, (box_h - content_h) // 2)
    center_x = width // 2
    boxes: list[Box] = []
    for w, h in sizes:
        boxes.append(Box(x=_even((width - w) / 2) if w < width else 0, y=_even(y), w=w, h=h))
        y += h + gap
    it = iter(boxes)
    logo = next(it) if card.logo is not None else None
    image = next(it) if card.image is not None else None
    cta = TextBlock(cta_lines, cta_px, y, center_x) if cta_lines else None
    if cta is not None:
        y += cta.height + gap // 2
    url = TextBlock(url_lines, url_px, y, center_x) if url_lines else None
    return CardLayout(logo=logo, image=image, cta=cta, url=url)


def card_images(card: TimelineEndCard, layout: CardLayout) -> list[tuple[CardImage, Box]]:
    """The images of the card with their boxes, logo first."""
    pairs = [(card.logo, layout.logo), (card.image, layout.image)]
    return [(im, box) for im, box in pairs if im is not None and box is not None]
