"""The finish of an ad decided from the brief (PURE): its end card and its colours.

The end card shows what the brief states and nothing else: the logo and/or the first product
image, the call to action (else the brand or product name), the URL, on the brand's main
colour with a text colour that reads on it.
"""

from __future__ import annotations

from adcut.core.brief import Brief
from adcut.core.plan import EndCard

# The card lasts long enough for the call to action to be read whole: 2.5 s, the length the
# issue asks a call to action to stay on screen, plus the fade-in (0.4 s) during which it is
# not yet fully visible.
END_CARD_S = 3.0
DEFAULT_BACKGROUND = "#111111"  # near-black: a brief without brand colours

# WCAG 2 AA contrast for text: a brand's own second colour is used when it reads this well.
MIN_CONTRAST = 4.5


def _luminance(hex_color: str) -> float:
    """WCAG 2 relative luminance of #RRGGBB."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color_for(background: str, brand_colors: list[str]) -> str:
    """The text colour on `background`: the brand's first other colour that contrasts with it
    at least MIN_CONTRAST, else white or near-black, whichever contrasts more."""
    for color in brand_colors:
        if color.lower() != background.lower() and contrast_ratio(color, background) >= MIN_CONTRAST:
            return color.upper()
    white, black = "#FFFFFF", "#111111"
    return white if contrast_ratio(white, background) >= contrast_ratio(black, background) else black


def end_card_for(brief: Brief) -> EndCard:
    """The end card a brief asks for: logo and first product image when given, the call to
    action (else the brand, else the product), the URL, the brand's main colour behind them."""
    background = brief.brand_colors[0].upper() if brief.brand_colors else DEFAULT_BACKGROUND
    text = brief.call_to_action or brief.brand or brief.product
    return EndCard(duration_s=END_CARD_S, logo=brief.logo,
                   image=brief.product_images[0] if brief.product_images else None,
                   text=text, url=brief.url, background=background,
                   color=text_color_for(background, brief.brand_colors[1:]))
