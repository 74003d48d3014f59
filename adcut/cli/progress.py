"""Progress bars on stderr for the long commands (ingest, render, tokenizer train, dataset
synth and build)."""

from __future__ import annotations

from pathlib import Path

from adcut.cli.app import note, stderr_console


class _Bar:
    """A rich bar on stderr that appears on first use (a no-op run or an early refusal prints
    nothing) and stops when the `with` block ends."""

    _progress = None
    _task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()


class RichIngestProgress:
    """Files, shots and frames done, with an ETA over the seconds of media to process."""

    def __init__(self) -> None:
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]} files  {task.fields[shots]} shots  "
                       "{task.fields[frames]} frames"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=stderr_console(),
            transient=False,
        )
        self._task = None
        self._files_total = 0
        self._files_done = 0
        self._shots = 0
        self._frames = 0

    # The bar appears only once there is work: a no-op re-run or an early error prints nothing.
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._task is not None:
            self._progress.stop()

    def _update(self, **kw):
        if self._task is None:
            return
        self._progress.update(self._task, files=f"{self._files_done}/{self._files_total}",
                              shots=self._shots, frames=self._frames, **kw)

    def start(self, files: int, total_s: float) -> None:
        if files == 0:  # nothing new: no bar to show
            return
        self._files_total = files
        self._progress.start()
        self._task = self._progress.add_task("ingest", total=max(total_s, 1e-6), files="0/0",
                                             shots=0, frames=0)
        self._update()

    def file_started(self, path: Path, duration_s: float) -> None:
        name = path.name if len(path.name) <= 32 else path.name[:29] + "..."
        self._update(description=name)

    def advance(self, seconds: float = 0.0, shots: int = 0, frames: int = 0) -> None:
        self._shots += shots
        self._frames += frames
        self._update(advance=seconds)

    def file_done(self, outcome) -> None:
        self._files_done += 1
        self._update()


class RichRenderProgress(_Bar):
    """Seconds of the ad encoded, from ffmpeg's -progress output, with an ETA."""

    def update(self, seconds_done: float, total_s: float | None = None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        if self._progress is None:
            self._progress = Progress(TextColumn("render"), BarColumn(),
                                      TextColumn("{task.completed:.1f}/{task.total:.1f} s"),
                                      TextColumn("ETA"), TimeRemainingColumn(),
                                      console=stderr_console())
            self._progress.start()
            self._task = self._progress.add_task("render", total=total_s or 1.0)
        if total_s:
            self._progress.update(self._task, total=total_s)
        self._progress.update(self._task, completed=seconds_done)


class RichTrainProgress(_Bar):
    """Epochs done, with the loss, the held-out cosine and each level's codebook use."""

    def __init__(self, header: str) -> None:
        self._header = header  # said when training starts (not before a refusal)

    def __call__(self, m: dict) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        if self._progress is None:
            note(self._header)
            self._progress = Progress(TextColumn("train"), BarColumn(),
                                      TextColumn("epoch {task.completed:.0f}/{task.total:.0f}"),
                                      TextColumn("{task.fields[figures]}"),
                                      TextColumn("ETA"), TimeRemainingColumn(),
                                      console=stderr_console())
            self._progress.start()
            self._task = self._progress.add_task("train", total=m.get("epochs", 1), figures="")
        use = m.get("level_use") or []
        figures = (f"loss {m.get('loss', float('nan')):.4f}  held-out cos "
                   f"{m.get('heldout_cos', float('nan')):.4f}  codes used "
                   + "/".join(f"{u:.0%}" for u in use))
        self._progress.update(self._task, completed=m.get("epoch", 0), figures=figures)


class RichSynthProgress(_Bar):
    """Ads done out of the corpus, the one being made, with an ETA; the ingest bar of the
    sample media the first time they are ingested."""

    def ingest(self):
        return RichIngestProgress()

    def start(self, total: int, done: int) -> None:
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        if done == total:  # nothing left to make: no bar
            return
        self._progress = Progress(TextColumn("synth"), BarColumn(),
                                  TextColumn("{task.completed:.0f}/{task.total:.0f} ads"),
                                  TextColumn("{task.description}"), TimeElapsedColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(),
                                  console=stderr_console())
        self._progress.start()
        self._task = self._progress.add_task("", total=total, completed=done)

    def ad_started(self, name: str, product: str) -> None:
        self._progress.update(self._task, description=f"{name} {product}")

    def ad_done(self, name: str) -> None:
        self._progress.update(self._task, advance=1)


class RichBuildProgress(_Bar):
    """Ads analysed (and skipped), with an ETA; then the assembly step."""

    _skipped = 0

    def start(self, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        if total:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.completed}/{task.total} ads  {task.fields[skipped]} skipped"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=stderr_console())
            self._progress.start()
            self._task = self._progress.add_task("analysing", total=total, skipped=0)

    def ad_done(self, key: str, ok: bool, message: str = "") -> None:
        if not ok:
            self._skipped += 1
            note(f"skipped {key}: {message}")
        if self._task is not None:
            self._progress.update(self._task, advance=1, skipped=self._skipped)

    def phase(self, name: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=name)


class RichStageProgress(_Bar):
    """Optimizer steps of a training stage, with the last loss, tokens per second and an ETA."""

    def start(self, stage: str, total_steps: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        if self._progress is not None:  # the next stage of the same command
            self._progress.stop()
        self._progress = Progress(
            TextColumn(stage), BarColumn(),
            TextColumn("{task.completed}/{task.total} steps  loss {task.fields[loss]}  "
                       "{task.fields[rate]} tok/s  eval {task.fields[eval]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=stderr_console())
        self._progress.start()
        self._task = self._progress.add_task(stage, total=max(total_steps, 1), loss="-", rate="-", eval="-")

    def step(self, step: int, loss: float | None, tokens_per_s: float) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=step, loss="-" if loss is None else f"{loss:.3f}",
                                  rate=f"{tokens_per_s:,.0f}")

    def evaluated(self, eval_loss: float) -> None:
        if self._task is not None:
            self._progress.update(self._task, eval=f"{eval_loss:.3f}")
