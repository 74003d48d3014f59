"""Audio decoding to mono float samples, with an optional EBU R128 measurement in the same pass."""

from __future__ import annotations

import logging
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adcut.core.errors import MediaError
from adcut.media.ffmpeg import find_ffmpeg, last_error_line, run_child

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# ebur128 reports -70 LUFS (its absolute gate) for digital silence.
_SILENCE_LUFS = -70.0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None for digital silence
    lra_lu: float | None
    true_peak_dbtp: float | None


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32 mono
    sample_rate: int
    loudness: Loudness | None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _number(block: str, label: str) -> float | None:
    m = re.search(rf"^\s*{label}:\s*(-?inf|-?nan|-?\d+(?:\.\d+)?)", block, re.MULTILINE | re.IGNORECASE)
    if not m:
        return None
    value = float(m.group(1))
    return value if math.isfinite(value) else None


def parse_ebur128_summary(stderr: str) -> Loudness | None:
    """Loudness from the "Summary:" block the ebur128 filter logs at the end (None if absent)."""
    idx = stderr.rfind("Summary:")
    if idx < 0:
        return None
    block = stderr[idx:]
    integrated = _number(block, "I")
    if integrated is not None and integrated <= _SILENCE_LUFS:
        return Loudness(integrated_lufs=None, lra_lu=None, true_peak_dbtp=_number(block, "Peak"))
    return Loudness(
        integrated_lufs=integrated,
        lra_lu=_number(block, "LRA"),
        true_peak_dbtp=_number(block, "Peak"),
    )


def decode_audio(
    path: Path,
    *,
    sample_rate: int = 16000,
    measure_loudness: bool = False,
    stream_index: int = 0,
) -> DecodedAudio:
    """Decode audio stream `stream_index` (counting audio streams only) to mono float32 at
    `sample_rate`, in one ffmpeg pass. With `measure_loudness`, ebur128 (true peak on) measures
    the original audio before the downmix and resampling."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: does not exist", hint="check the path and the file name")
    chain = [f"aformat=sample_fmts=flt:sample_rates={sample_rate}:channel_layouts=mono"]
    if measure_loudness:
        # Per-frame lines go to the verbose level, hidden at info ("quiet" is unknown to 5.1).
        chain.insert(0, "ebur128=peak=true:framelog=verbose")
    cmd = [
        find_ffmpeg().path, "-hide_banner", "-nostdin", "-nostats",
        # ebur128 logs its summary at info level; otherwise only errors are wanted.
        "-loglevel", "info" if measure_loudness else "error",
        "-i", str(path), "-map", f"0:a:{stream_index}", "-vn", "-sn", "-dn",
        "-af", ",".join(chain), "-f", "f32le", "pipe:1",
    ]  # fmt: skip
    log.debug("audio: %s", subprocess.list2cmdline(cmd))
    proc = run_child(cmd)
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if re.search(r"Stream map '0:a:\d+' matches no streams|matches no streams", stderr):
            which = "no audio stream" if stream_index == 0 else f"no audio stream #{stream_index}"
            raise MediaError(f"{path}: {which}", hint="give a file with sound, or skip its audio")
        raise MediaError(
            f"{path}: cannot decode audio: {last_error_line(stderr)}",
            hint="check the file plays; export it again if it does not",
        )
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32, copy=True)
    loudness = parse_ebur128_summary(stderr) if measure_loudness else None
    if measure_loudness and loudness is None:
        log.warning("%s: ebur128 printed no summary", path)
    return DecodedAudio(samples=samples, sample_rate=sample_rate, loudness=loudness)
