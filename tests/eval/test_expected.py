"""Every dev file of AutoCut-364 against its expected.json (to 1e-6): every system, every file,
every headline value, count and extra. Skipped where the dev slice is absent."""

from __future__ import annotations

import json

import pytest

from adcut.eval import run_eval
from tests.eval import cli, dev_dir

DEV = dev_dir()
pytestmark = pytest.mark.skipif(DEV is None, reason="autocut364 dev slice not present")


def _expected() -> dict:
    return json.loads((DEV / "expected.json").read_text(encoding="utf-8"))


def _same(got, want, where: str) -> None:
    if want is None or isinstance(want, str):
        assert got == want, where
    else:
        assert got is not None, where
        assert got == pytest.approx(want, abs=1e-6, rel=0), where


@pytest.fixture(scope="module")
def result() -> dict:
    return run_eval([DEV])


def test_every_file_matches(result):
    exp = _expected()
    n = 0
    for system in exp["systems"].values():
        for name, want in system["files"].items():
            got = result["files"][name]
            for key, value in want.items():
                _same(got.get(key, "<missing>"), value, f"{name} {key}")
                n += 1
            assert got["problems"] == [], name
    assert n > 150


def test_every_headline_count_and_extra_matches(result):
    exp = _expected()
    assert set(result["systems"]) == set(exp["systems"])
    for name, want in exp["systems"].items():
        got = result["systems"][name]
        for section in ("headline", "headline_rounded", "counts_and_extras"):
            assert set(got[section]) == set(want[section]), (name, section)
            for key, value in want[section].items():
                _same(got[section][key], value, f"{name} {section} {key}")


def test_cli_json_of_one_file_is_its_expected_object():
    exp = _expected()["systems"]["gpt4o"]["files"]["F___vidsort_gpt4o.jsonl"]
    code, out, _ = cli("eval", DEV / "F___vidsort_gpt4o.jsonl", "--json")
    assert code == 0
    got = json.loads(out)
    for key, value in exp.items():
        _same(got[key], value, key)
    # the names for the extras
    for key in ("position_acc", "malformed_rate", "kendall_tau", "pairwise_acc", "lis_ratio"):
        assert key in got


def test_cli_json_of_the_folder_has_the_expected_structure():
    code, out, _ = cli("eval", DEV, "--json")
    assert code == 0
    got = json.loads(out)
    exp = _expected()["systems"]
    for name in exp:
        for key, value in exp[name]["headline"].items():
            _same(got["systems"][name]["headline"][key], value, f"{name} {key}")


def test_task_is_detected_and_can_be_forced():
    res = run_eval([DEV / "VSC___vidsort_gpt4o.jsonl", DEV / "SQ_gpt4o.jsonl"], task=None)
    assert [f["kind"] for f in res["files"].values()] == ["vsc", "sq"]
    res = run_eval([DEV / "F___vidselect_gpt4o.jsonl"], task="select")
    assert res["files"]["F___vidselect_gpt4o.jsonl"]["CSA"] == pytest.approx(32 / 101)
