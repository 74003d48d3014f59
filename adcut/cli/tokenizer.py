"""`adcut tokenizer train|encode|eval|show`: RQ-VAE tokens of a library's frames and music."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import App, app, note
from adcut.cli.progress import RichTrainProgress

tokenizer_app = App(help="Train RQ-VAE tokenizers, store a library's tokens, measure them.",
                    no_args_is_help=True)
app.add_typer(tokenizer_app, name="tokenizer")

Library = Annotated[Path, typer.Option("--library", "-l", help="Library folder built by adcut ingest.")]
TokenizerDir = Annotated[Path, typer.Option("--tokenizer", "-t", help="Tokenizer folder made by adcut tokenizer train.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _readonly(folder: Path):
    from adcut.library.catalog import Catalog

    return Catalog(folder, readonly=True)


def _load(folder: Path):
    from adcut.tokens.tokenizer import Tokenizer

    return Tokenizer.load(folder)


@tokenizer_app.command("train", interrupted="stopped; the last checkpoint is kept: "
                                            "run the same command with --resume to go on")
def train(
    library: Library,
    modality: Annotated[str, typer.Option(help="video (1 fps frame embeddings) | audio (music-window embeddings).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Tokenizer folder to write.")],
    preset: Annotated[Optional[str], typer.Option(help="paper-video | paper-audio | adcut-video | adcut-audio (default: adcut-<modality>, sized to the library's encoder).")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, max=10000, help="Epochs (default: the preset's, or more so that a small library gets 2,000 steps).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=2, max=1_000_000, help="Vectors per batch (default: the preset's, smaller for a small library, never below the codebook size).")] = None,
    levels: Annotated[Optional[int], typer.Option(min=1, max=24, help="Residual levels (default 8).")] = None,
    codebook_size: Annotated[Optional[int], typer.Option("--codebook-size", min=2, max=65536, help="Codes per level (default 256).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Makes the split, the initialisation and the batches reproducible.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its checkpoint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a finished tokenizer in --output.")] = False,
    as_json: AsJson = False,
) -> None:
    """Train an RQ-VAE on the library's embeddings; held-out data are whole source files.

    Writes config.json (naming the encoder the tokenizer applies to), model.safetensors and
    report.json to --output, and a checkpoint after the first epoch and then every 20 s (so
    --resume continues an interrupted run to the same result)."""
    from adcut.tokens.library import library_vectors, training_config
    from adcut.tokens.train import train_tokenizer

    with _readonly(library) as catalog:
        lib = library_vectors(catalog, modality)
    config = training_config(lib, modality, preset=preset, epochs=epochs, batch_size=batch_size,
                             levels=levels, codebook_size=codebook_size, seed=seed)
    header = (f"training on {len(lib.vectors)} {modality} vectors ({lib.dim}-d, {lib.encoder} "
              f"{lib.encoder_version}) from {len(set(lib.sources))} sources: {config.levels} "
              f"levels x {config.codebook_size} codes, {config.epochs} epochs")
    with RichTrainProgress(header) as progress:
        report = train_tokenizer(lib.vectors, lib.sources, config, output, resume=resume,
                                 force=force, on_progress=progress)
    if as_json:
        print(report.to_json())
        return
    print(f"{output}: {config.modality} tokenizer, {config.levels} x {config.codebook_size} codes "
          f"for {config.encoder} {config.encoder_version}, {report.epochs} epochs in "
          f"{report.seconds_training:.1f} s")
    print(f"  held out                {len(report.heldout_sources)} sources, "
          f"{report.heldout_vectors} vectors ({report.split_note or report.split})")
    base = ("" if report.baseline_heldout_cos is None else
            f" (PCA + residual k-means at the same budget: {report.baseline_heldout_cos:.4f})")
    print(f"  reconstruction cosine   {report.heldout_cos:.4f} held out{base}")
    print("  codebook use per level  " + " ".join(f"{u:.0%}" for u in report.level_use))
    print(f"  distinct token strings  {report.distinct_share:.1%}")


@tokenizer_app.command("encode", interrupted="stopped; the sources encoded so far are stored: "
                                             "run the same command again to finish")
def encode(library: Library, tokenizer: TokenizerDir, as_json: AsJson = False) -> None:
    """Store the tokens of every frame (video tokenizer) or music window (audio) in the
    library's catalog; sources already encoded by this tokenizer are skipped."""
    from adcut.library.catalog import Catalog
    from adcut.library.lock import library_lock
    from adcut.tokens.library import encode_library

    tok = _load(tokenizer)
    with _readonly(library):
        pass  # a folder that is not a library is refused before the lock file is made
    with library_lock(library, purpose="adcut tokenizer encode", on_wait=note), \
            Catalog(library, create=False) as catalog:
        report = encode_library(catalog, tok, tokenizer)
    summary = dict(vars(report))
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    print(f"{library}: {report.encoded_sources} sources encoded ({report.encoded_rows} "
          f"{'frames' if report.modality == 'video' else 'music windows'}, "
          f"{report.rows_per_s:,.0f} per second), {report.unchanged_sources} unchanged; "
          f"tokenizer {report.tokenizer_id}")


@tokenizer_app.command("eval")
def evaluate(library: Library, tokenizer: TokenizerDir, as_json: AsJson = False) -> None:
    """Held-out reconstruction cosine, codebook use and perplexity per level, share of
    distinct token strings, and round-trip retrieval (a clip's decoded tokens find the clip)."""
    from adcut.tokens.evaluate import evaluate_tokenizer

    tok = _load(tokenizer)
    with _readonly(library) as catalog:
        report = evaluate_tokenizer(catalog, tok, tokenizer)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    trip = report["round_trip"]
    print(f"tokenizer {report['tokenizer']} ({report['modality']}, {report['levels']} x "
          f"{report['codebook_size']}, {report['encoder']})")
    print(f"  reconstruction cosine   {report['reconstruction_cos']:.4f} on "
          f"{report['measured_on']} ({report['measured_vectors']} vectors)")
    print(f"  codebook use per level  " + " ".join(f"{u:.0%}" for u in report["level_use"]))
    print(f"  perplexity per level    " + " ".join(f"{p:.1f}" for p in report["level_perplexity"]))
    print(f"  distinct token strings  {report['distinct_token_strings']:.1%} of "
          f"{report['vectors']} vectors")
    if trip["items"]:
        what = "clips" if report["modality"] == "video" else "windows"
        print(f"  round-trip retrieval    {trip['accuracy']:.1%} of {trip['items']} {what} find "
              f"themselves first in the embeddings index, {trip['accuracy_among_decoded']:.1%} "
              f"among the library's decoded tokens")
        print(f"  ... without near-twins  {trip['accuracy_distinct']:.1%} in the index, "
              f"{trip['accuracy_among_decoded_distinct']:.1%} among decoded tokens, over the "
              f"{trip['distinct_items']} {what} with no other within cosine {trip['distinct_cos']}")
    else:
        print(f"  round-trip retrieval    - ({trip['note']})")


@tokenizer_app.command("show")
def show(
    item: Annotated[Optional[str], typer.Argument(help="A clip id (or music window id), or a media file with --at.")] = None,
    library: Library = Path("library"),
    tokenizer: TokenizerDir = Path("tokenizer"),
    at: Annotated[Optional[float], typer.Option(min=0.0, help="With a file: the time in seconds of the frame to show.")] = None,
    tokens: Annotated[Optional[str], typer.Option(help="A token string to decode instead (the inverse): its nearest clips or tracks.")] = None,
    k: Annotated[int, typer.Option(min=1, max=100, help="How many nearest library items to list.")] = 5,
    as_json: AsJson = False,
) -> None:
    """The token string of a clip as the model sees it, and the library items nearest to its
    decoded tokens; with --tokens, the items nearest to a token string."""
    from adcut.tokens.show import show_item

    tok = _load(tokenizer)
    with _readonly(library) as catalog:
        result = show_item(catalog, tok, tokenizer, item=item, at_s=at, tokens=tokens, k=k)
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(result["tokens"])
    print(f"nearest to its decoded tokens ({result['what']}), in the library's embeddings:")
    for item_id, score in result["nearest"]:
        print(f"  {item_id}  cos {score:.3f}")
    if result["nearest_by_tokens"]:
        print("... and among the library's own decoded tokens:")
        for item_id, score in result["nearest_by_tokens"]:
            print(f"  {item_id}  cos {score:.3f}")
