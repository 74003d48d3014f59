"""The ad's length: the shots' frames fitted so the ad lands on the brief's target duration.

A plan's shots each have a natural length (compile.natural_shot_frames: lead-in + the
measured voice + a breath; a silent shot its clip's range) that adds up to whatever the
voice happens to take. The target is a promise to the marketer (a 15 s slot is 15 s), so the
difference is shared out here (PURE): time to add goes first to shots whose footage has room
(no slow motion needed), then evenly to all; time to take comes out of each shot's slack
above its floor (a voiced shot keeps lead-in + its whole voice + MIN_BREATH_S; any shot keeps
MIN_SHOT_S), in proportion to that slack. No line is ever dropped or cut to fit. Frames are
integers: the largest-remainder rule makes the total exact.
"""

from __future__ import annotations

import json


def target_seconds(brief_json: str | None) -> float | None:
    """The brief's target duration recorded in a plan (EditPlan.brief), or None."""
    try:
        data = json.loads(brief_json) if brief_json else None
    except ValueError:
        return None
    value = data.get("duration_s") if isinstance(data, dict) else None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _share(amount: int, weights: list[float]) -> list[int]:
    """`amount` frames split in proportion to `weights`, as integers summing to `amount`."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    raw = [amount * w / total for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - out[k]), k))
    for k in order[:amount - sum(out)]:
        out[k] += 1
    return out


def fit_frames(natural_f: list[int], floor_f: list[int], room_f: list[int],
               target_f: int) -> list[int]:
    """Each shot's frames so they add up to `target_f` (PURE), or as close as the floors
    allow. `floor_f`: the fewest frames a shot may have; `room_f`: how many its footage fills
    at normal speed (adding beyond that slows or holds the clip)."""
    frames = list(natural_f)
    n = len(frames)
    if n == 0:
        return frames
    diff = target_f - sum(frames)
    if diff > 0:
        # water-fill the shots whose footage has room, then share the rest evenly
        spare = [max(0, r - f) for r, f in zip(room_f, frames)]
        give = min(diff, sum(spare))
        level_add = _fill_levels(spare, give)
        frames = [f + a for f, a in zip(frames, level_add)]
        rest = diff - give
        frames = [f + a for f, a in zip(frames, _share(rest, [1.0] * n))]
    elif diff < 0:
        slack = [max(0, f - lo) for f, lo in zip(frames, floor_f)]
        take = min(-diff, sum(slack))
        frames = [f - t for f, t in zip(frames, _share(take, [float(s) for s in slack]))]
    return frames


def _fill_levels(capacity: list[int], amount: int) -> list[int]:
    """`amount` split as evenly as possible with each share capped at its capacity."""
    out = [0] * len(capacity)
    left = amount
    open_ = [k for k, c in enumerate(capacity) if c > 0]
    while left > 0 and open_:
        each = max(1, left // len(open_))
        for k in list(open_):
            add = min(each, capacity[k] - out[k], left)
            out[k] += add
            left -= add
            if out[k] >= capacity[k]:
                open_.remove(k)
            if left == 0:
                break
    return out
