"""adcut: raw footage + brief + music library -> finished ad (AutoCut, CVPR 2026)."""

__version__ = "0.1.0"
