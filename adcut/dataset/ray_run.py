"""The per-ad analysis as a Ray Data pipeline, for corpora too large for one machine.

Two stages with their own resource requests, each a pool of actors that load their models
once: `Hear` (audio decode, speech recognition, music; CPU) and `See` (frame decode, shot
cuts, frame embeddings, then the join into the ad's result; CPU, or a GPU when asked).
Results travel back to this process as bytes and are stored here exactly as a local build
stores them, so the dataset folder is the same whichever way it was built. Only the input
videos must be readable from the workers (a shared filesystem or the same paths on every node).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable

from adcut.core.errors import AdcutError, DependencyError
from adcut.dataset.analyse import BuildOptions, Models, hear_ad, join_ad, see_ad

log = logging.getLogger(__name__)


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise DependencyError("--ray needs Ray Data", hint="pip install 'adcut[scale]'") from exc
    return ray


class Hear:
    """Stage 1 actor: the listening half of every ad it is given."""

    def __init__(self, options: BuildOptions):
        self.models = Models(options)

    def __call__(self, batch: dict) -> dict:
        from adcut.dataset.build import job_facts, reason

        out = []
        for blob in batch["job"]:
            job = pickle.loads(blob)
            try:
                facts = job_facts(job)
                out.append(pickle.dumps((job, facts, hear_ad(job.path, self.models, facts), None)))
            except AdcutError as exc:
                out.append(pickle.dumps((job, None, None, reason(job, exc))))
        return {"heard": out}


class See:
    """Stage 2 actor: the looking half, then the join into the ad's result."""

    def __init__(self, options: BuildOptions):
        self.models = Models(options)

    def __call__(self, batch: dict) -> dict:
        from adcut.dataset.build import reason

        out = []
        for blob in batch["heard"]:
            job, facts, heard, error = pickle.loads(blob)
            result = error
            if error is None:
                try:
                    seen = see_ad(job.path, self.models)
                    result = join_ad(job.path, job.key, heard, seen, self.models, facts)
                except AdcutError as exc:
                    result = reason(job, exc)
            out.append(pickle.dumps((job.key, result)))
        return {"result": out}


def analyse_with_ray(address: str, jobs: list, options: BuildOptions,
                     store: Callable[[object, object], None], *, workers: int = 1,
                     cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0) -> None:
    """Run both stages over `jobs` on the Ray cluster at `address` ("local": start one in
    this process) and hand every (job, result) to `store` as it arrives."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address == "local":
            ray.init(**kwargs)
        else:
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise DependencyError(f"cannot join the Ray cluster at {address}: {exc}",
                                      hint="start it with `ray start --head`, or use --ray local") from exc
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.verbose_stats_logs = False
        by_key = {job.key: job for job in jobs}
        items = [{"job": pickle.dumps(job)} for job in jobs]
        ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        ds = ds.map_batches(Hear, fn_constructor_args=(options,), batch_size=1,
                            concurrency=max(1, workers), num_cpus=cpus_per_worker)
        ds = ds.map_batches(See, fn_constructor_args=(options,), batch_size=1,
                            concurrency=max(1, workers), num_cpus=cpus_per_worker,
                            num_gpus=gpus_per_worker)
        for row in ds.iter_rows():
            key, result = pickle.loads(row["result"])
            store(by_key[key], result)
    finally:
        if started:
            ray.shutdown()

