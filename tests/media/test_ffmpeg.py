"""The ffmpeg binary adcut finds and how it runs it (the real binary, no mocks)."""

from __future__ import annotations

import pytest

from adcut.core.errors import DependencyError, MediaError
from adcut.media import ffmpeg as ffm
from adcut.media.ffmpeg import REQUIRED_FILTERS, Ffmpeg, ffmpeg_features, find_ffmpeg, run_ffmpeg


def test_bundled_ffmpeg_is_found_with_every_required_filter():
    ff = find_ffmpeg()
    assert ff.origin in ("imageio-ffmpeg", "system")
    assert ff.version_tuple is not None and ff.version_tuple >= (5, 1)
    assert all(ff.has(f) for f in REQUIRED_FILTERS)
    assert ffmpeg_features(ff) == {
        "libass": True, "xfade": True, "sidechaincompress": True, "loudnorm": True, "ebur128": True,
    }
    assert find_ffmpeg() is ff  # cached


@pytest.mark.parametrize(
    "banner, version",
    [
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright (c) 2000-2026", "9.0.2"),
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025", "5.1.9"),
        ("ffmpeg version 7.1 Copyright", "7.1"),
        ("ffmpeg version N-112233-gabcdef0 Copyright", "N-112233-gabcdef0"),
        ("ffmpeg version 2024-01-01-git-abc-full_build Copyright", "2024-01-01-git-abc-full_build"),
    ],
)
def test_version_is_parsed_from_release_distro_and_git_builds(banner, version):
    assert ffm.parse_version(banner) == version


def test_filter_list_is_parsed_in_old_and_new_layouts():
    text = (
        "Filters:\n  T.. = Timeline support\n ------\n"
        " TS aap               AA->A      Apply Affine Projection\n"
        " .S xfade             VV->V      Cross fade\n"
        " ..C ebur128          A->N       EBU R128 scanner.\n"  # ffmpeg 5 has a third flag column
        " ... subtitles        V->V       Render text subtitles\n"
    )
    assert ffm.parse_filters(text) == {"aap", "xfade", "ebur128", "subtitles"}


def _ff(version: str, filters=REQUIRED_FILTERS) -> Ffmpeg:
    return Ffmpeg(path="/x", version=version, origin="system", filters=frozenset(filters))


def test_system_ffmpeg_is_preferred_only_when_newer_and_complete():
    bundled = _ff("9.0.2")
    assert ffm._prefer_system(bundled, _ff("9.1"))
    assert not ffm._prefer_system(bundled, _ff("9.0.2"))
    assert not ffm._prefer_system(bundled, _ff("5.1.9"))
    assert not ffm._prefer_system(bundled, _ff("10.0", filters=("xfade", "loudnorm")))
    assert not ffm._prefer_system(bundled, _ff("N-112233-gabcdef0"))  # unknown release


def test_env_var_overrides_and_a_bad_value_is_a_dependency_error(monkeypatch):
    real = find_ffmpeg().path
    try:
        monkeypatch.setenv("ADCUT_FFMPEG", real)
        find_ffmpeg.cache_clear()
        assert find_ffmpeg().origin == "env" and find_ffmpeg().path == real
        monkeypatch.setenv("ADCUT_FFMPEG", "/nowhere/ffmpeg")
        find_ffmpeg.cache_clear()
        with pytest.raises(DependencyError, match="ADCUT_FFMPEG=/nowhere/ffmpeg"):
            find_ffmpeg()
    finally:
        monkeypatch.delenv("ADCUT_FFMPEG")
        find_ffmpeg.cache_clear()


def test_run_reports_progress_in_seconds_and_returns_stderr(tmp_path):
    out = tmp_path / "out.mp4"
    seen: list[float] = []
    stderr = run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=3",
         "-c:v", "libx264", "-preset", "ultrafast", str(out)],
        duration_s=3.0,
        on_progress=seen.append,
    )
    assert out.stat().st_size > 0
    assert "libx264" in stderr
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(3.0)
    assert all(0 <= s <= 3.0 for s in seen)


def test_never_overwrites_unless_asked(tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    with pytest.raises(MediaError, match="already exists"):
        run_ffmpeg(["-f", "lavfi", "-i", "sine=d=0.1", str(out)])
    assert out.read_bytes() == b"keep me"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=d=0.1", str(out)])
    assert out.read_bytes() != b"keep me"


def test_failure_quotes_the_meaningful_error_line(tmp_path):
    with pytest.raises(MediaError) as e:
        run_ffmpeg(["-f", "lavfi", "-i", "color=d=0.1", "-vf", "nosuchfilter", "-f", "null", "-"])
    assert "No such filter: 'nosuchfilter'" in e.value.message
    # libx264 explains itself first, then ffmpeg adds several generic lines: the first is quoted.
    out = tmp_path / "odd.mp4"
    with pytest.raises(MediaError) as e:
        run_ffmpeg(["-f", "lavfi", "-i", "color=s=321x241:d=0.1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)])
    assert "width not divisible by 2 (321x241)" in e.value.message
    assert str(out) in e.value.message
    with pytest.raises(MediaError, match=r"missing\.mp4.*No such file or directory"):
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
