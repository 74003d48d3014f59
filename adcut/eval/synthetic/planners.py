"""The reference planners of the synthetic benchmark: `random` (a seeded valid answer that
knows nothing) and `zero-shot` (adcut's planner with no trained model, on the token track).

What they are given for music: the world's clips and lines say nothing a planner without a
model could read about music, and the zero-shot planner picks music only from candidate
tracks (it refuses the paper's generate-the-tokens form). Both are therefore given the
whole music library as candidates, each with its 8 audio tokens and no description (the
world has no words about music); the chosen track's tokens are then scored exactly as a
model's generated tokens are. With no description or tags to go on, the zero-shot planner's
choice is its seeded tie-break: chance, like random's.
"""

from __future__ import annotations

import hashlib
import random

from adcut.planner.base import Decision, Hints
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
)
from adcut.tokens.vocab import AUDIO_LEVELS, CODEBOOK_SIZE, audio_token


class RandomPlanner:
    """A valid answer drawn at random: a random clip set, a random permutation, lines of random
    words of the product facts, a random candidate track (or random audio codes without
    candidates). Each answer is seeded by (seed, the task's content), so it does not depend on
    the order the tasks come in."""

    name = "random"
    reads_tracks = (TRACK_CAPTION, TRACK_TOKENS)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _rng(self, task: object) -> random.Random:
        digest = hashlib.md5(f"{self.seed}\x1f{task!r}".encode()).hexdigest()
        return random.Random(int(digest, 16))

    def select(self, task: SelectTask, hints: Hints | None = None) -> Decision:
        numbers = [c.number for c in task.clips]
        n = min(max(0, int(task.n_select)), len(numbers))
        return Decision(value=sorted(self._rng(task).sample(numbers, n)), explanation=["random clips"])

    def order(self, task: SortTask, hints: Hints | None = None) -> Decision:
        numbers = [c.number for c in task.clips]
        self._rng(task).shuffle(numbers)
        return Decision(value=numbers, explanation=["random order"])

    def write(self, task: ScriptTask, hints: Hints | None = None) -> Decision:
        p = task.product
        words = " ".join([p.name, p.brand, *p.selling_points]).split() or ["ad"]
        rng = self._rng(task)
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) for _ in task.clips]
        return Decision(value=lines, explanation=["random words of the product facts"])

    def music(self, task: MusicTask, hints: Hints | None = None) -> Decision:
        rng = self._rng(task)
        if task.audio_candidates:
            return Decision(value=rng.choice(task.audio_candidates).number, explanation=["random track"])
        tokens = [audio_token(level, rng.randrange(CODEBOOK_SIZE)) for level in range(AUDIO_LEVELS)]
        return Decision(value=tokens, explanation=["random audio codes"])


def reference_planners(seed: int = 0) -> dict[str, object]:
    """name -> planner: the two references every run scores."""
    from adcut.planner.zero_shot import ZeroShotPlanner

    return {"random": RandomPlanner(seed), "zero-shot": ZeroShotPlanner()}
