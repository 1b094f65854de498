"""Where sweep runs execute: a local process pool, or Ray (imported only when asked for).

Both take a list of `SweepJob`s and yield each run's record (see `worker.execute_run`) as it
finishes; `cancel` (a threading.Event) stops dispatching, and the runs under way stop at their
next cancel check (they keep their finished folds for the next start).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .spec import SweepError
from .worker import execute_run

REPO_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass
class SweepJob:
    """One run of a sweep for an executor: its id, its experiment config and whether it wants a GPU."""

    id: str
    config: dict[str, Any]
    wants_gpu: bool = False


def machine_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cuda_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class LocalExecutor:
    """A process pool (spawn) sized to the machine, and one single-process pool per GPU for the
    runs that want a GPU (each pinned with CUDA_VISIBLE_DEVICES)."""

    name = "local"

    def __init__(self, workers: int | str = "auto", cpus_per_run: float = 1.0):
        self.workers = workers
        self.cpus_per_run = cpus_per_run

    def run(self, jobs: list[SweepJob], sweep_dir: str, cancel: threading.Event) -> Iterator[dict[str, Any]]:
        if not jobs:
            return
        ctx = multiprocessing.get_context("spawn")
        gpus = cuda_count() if any(t.wants_gpu for t in jobs) else 0
        cpu_jobs = [t for t in jobs if not (t.wants_gpu and gpus)]
        gpu_jobs = [t for t in jobs if t.wants_gpu and gpus]
        workers = (max(1, int(machine_cpus() // self.cpus_per_run)) if self.workers == "auto" else int(self.workers))
        pools = []
        futures = {}
        try:
            if cpu_jobs:
                pool = ProcessPoolExecutor(max_workers=min(workers, len(cpu_jobs)), mp_context=ctx)
                pools.append(pool)
                futures.update({pool.submit(execute_run, t.id, t.config, sweep_dir): t.id for t in cpu_jobs})
            gpu_pools = [ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_pin_gpu, initargs=(i,))
                         for i in range(min(gpus, len(gpu_jobs)))]
            pools.extend(gpu_pools)
            for n, t in enumerate(gpu_jobs):
                futures[gpu_pools[n % len(gpu_pools)].submit(execute_run, t.id, t.config, sweep_dir)] = t.id
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    if future.cancelled():
                        continue
                    yield _record(future, futures[future])
                if cancel.is_set():
                    for future in pending:
                        future.cancel()
        finally:
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)


def _record(future, run_id: str) -> dict[str, Any]:
    try:
        return future.result()
    except BaseException as exc:  # noqa: BLE001 - the pool process died (e.g. out of memory)
        return {"id": run_id, "status": "failed", "error": f"the worker process failed: {type(exc).__name__}: {exc}"}


def _pin_gpu(index: int) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = str(index)


class RayExecutor:
    """Each run a Ray task with ``cpus_per_run`` CPUs (and ``gpus_per_run`` GPUs when it uses
    torch). Uses the Ray instance this process has already started; otherwise connects to
    ``address`` (``auto``, ``ray://HOST:PORT``) or starts a local one. Run folders are written
    by the workers, so on a cluster the sweep folder must be on storage every node shares."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0, gpus_per_run: float = 0.0):
        self.ray = import_ray()
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run

    def run(self, jobs: list[SweepJob], sweep_dir: str, cancel: threading.Event) -> Iterator[dict[str, Any]]:
        ray = self.ray
        if not jobs:
            return
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
                raise SweepError(f"the Ray executor cannot start or reach {where}: {type(exc).__name__}: {str(exc).rstrip('.')}.",
                                 hint="Check the address and that the cluster runs; ray:// addresses need "
                                      "pip install neurodeck[ray] (Ray's client extras).") from None
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p),
                            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                            **{k: v for k, v in os.environ.items() if k.startswith("NEURODECK_")}}}
        remote = ray.remote(execute_run)
        refs = {}
        for t in jobs:
            options = {"num_cpus": self.cpus_per_run, "num_gpus": self.gpus_per_run if t.wants_gpu else 0,
                       "runtime_env": env, "max_retries": 0}
            refs[remote.options(**options).remote(t.id, t.config, sweep_dir)] = t.id
        stopping = False
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                for ref in done:
                    run_id = refs.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the worker died; the others go on
                        status = "cancelled" if stopping else "failed"
                        yield {"id": run_id, "status": status, "error": f"the Ray task failed: {type(exc).__name__}: {exc}"}
                if cancel.is_set() and not stopping:
                    stopping = True
                    for ref in refs:   # queued ones never start; running ones see the cancel file
                        ray.cancel(ref, force=False)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)


def import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError("the Ray executor needs Ray, which is not installed: pip install neurodeck[ray] "
                         "(or pip install 'ray[default]>=2.9').") from None
    return ray


def make_executor(kind: str, *, address: str | None = None, workers: int | str = "auto",
                  cpus_per_run: float = 1.0, gpus_per_run: float = 0.0):
    if kind == "local":
        return LocalExecutor(workers, cpus_per_run)
    if kind == "ray":
        return RayExecutor(address, cpus_per_run, gpus_per_run)
    raise SweepError(f"unknown executor '{kind}' (local, ray, or ray://HOST:PORT).")
