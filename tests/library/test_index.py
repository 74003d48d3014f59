import numpy as np

from adcut.library.catalog import Catalog, ClipRecord, EmbeddingRecord, SourceBundle, SourceRecord
from adcut.library.index import load_index, search, sync_index
from adcut.library.store import save_embeddings


def add_source(cat, sid, vectors, encoder=("enc", "1")):
    rel = f"emb/{sid}.clips.npy"
    save_embeddings(cat.folder, rel, vectors)
    src = SourceRecord(id=sid, kind="footage", path=f"/x/{sid}.mp4", content_hash=sid,
                       size_bytes=1, mtime_ns=1, container="mov", duration_s=1, decoded_s=1,
                       width=2, height=2, rotation_deg=0, fps=25, is_vfr=False, has_audio=False)
    clips = [ClipRecord(id=f"{sid}-{i:04d}", idx=i, start_s=i, end_s=i + 1, start_f=i, end_f=i + 1,
                        emb_row=i, thumb="", speech_prob=None, music_prob=None, has_speech=False,
                        has_music=False, labels=[], transcript="", caption="")
             for i in range(len(vectors))]
    cat.write_bundle(SourceBundle(source=src, clips=clips, embeddings=[
        EmbeddingRecord("clips", *encoder, vectors.shape[1], len(vectors), rel)]))


def unit(rng, n, d=8):
    v = rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_sync_adds_removes_and_finds(tmp_path):
    rng = np.random.default_rng(0)
    a, b = unit(rng, 3), unit(rng, 2)
    with Catalog(tmp_path / "lib") as cat:
        add_source(cat, "fa", a)
        r = sync_index(cat, "clips")
        assert (r.added, r.removed, r.total) == (3, 0, 3)
        add_source(cat, "fb", b)
        r = sync_index(cat, "clips")
        assert (r.added, r.removed, r.total) == (2, 0, 5)
        assert sync_index(cat, "clips").added == 0  # in sync: nothing to do
        hits = search(cat.folder, "clips", b[1], k=1)[0]
        vec_of = {c["id"]: c["vec_id"] for c in cat.clips()}
        assert hits[0][0] == vec_of["fb-0001"] and abs(hits[0][1] - 1.0) < 1e-2
        with cat.transaction() as con:
            con.execute("DELETE FROM sources WHERE id = 'fa'")
        r = sync_index(cat, "clips")
        assert (r.added, r.removed, r.total) == (0, 3, 2)
        index, info = load_index(cat.folder, "clips")
        assert info == {"encoder": "enc", "encoder_version": "1", "dim": 8, "count": 2}
