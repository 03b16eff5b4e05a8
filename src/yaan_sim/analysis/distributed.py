"""Run chunks of samples in-process, on local worker processes, or on a dask cluster.

An ensemble is cut into chunks of samples; each chunk is one vectorised engine call
(thousands of samples at once). :func:`run_chunks` runs the chunks

- in this process, one after the other (the default: no set-up, no pickling);
- on ``workers`` local processes (a ``distributed.LocalCluster`` started and stopped
  here), or
- on an existing dask.distributed cluster at ``scheduler`` (``tcp://host:8786``).

A chunk carries everything it needs: the model's .mdl text (workers translate it once
into their own cache, keyed by its SHA-256), the scenario's resolved lever values and the
chunk's slice of the sample design, drawn in this process. So a seed gives the same
numbers whichever way the chunks run. Workers need yaan-sim and the same versions of
numpy, scipy and xarray installed (``pip install -e .`` of the same checkout); they do
not need the checkout's files.

Pointing it at a cluster::

    # on the scheduler machine
    dask scheduler --port 8786
    # on every worker machine (same Python environment as the client)
    dask worker tcp://SCHEDULER:8786 --nworkers 4 --nthreads 1
    # on the client
    yaan-sim ensemble uncertain/plan-uncertain.yaml --samples 1000000 \
        --scheduler tcp://SCHEDULER:8786 -o out/ens.nc
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from yaan_sim.errors import YaanSimError
from yaan_sim.protocols import ModelLike

CONNECT_TIMEOUT_S = 30
_WORKER_MODELS: dict[str, ModelLike] = {}
_LOCK = threading.Lock()


def model_spec(model: ModelLike) -> dict:
    """What a worker needs to rebuild the model: the .mdl's name, text and hash."""
    text = Path(model.mdl_path).read_text(encoding="utf-8")
    return {"name": Path(model.mdl_path).name, "text": text, "sha256": model.mdl_sha256}


def worker_model(spec: dict) -> ModelLike:
    """The model of ``spec``, loaded once per process (translated once per machine)."""
    with _LOCK:
        model = _WORKER_MODELS.get(spec["sha256"])
        if model is not None:
            return model
        from yaan_sim.model.load import load_model
        from yaan_sim.paths import cache_dir

        data = spec["text"].encode("utf-8")
        if hashlib.sha256(data).hexdigest() != spec["sha256"]:
            raise YaanSimError("the model text sent to the worker does not match its hash")
        folder = cache_dir() / "models" / spec["sha256"][:32]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / spec["name"]
        if not path.is_file():
            tmp = folder / f".{spec['name']}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, path)
        model = load_model(path)
        _WORKER_MODELS[spec["sha256"]] = model
        return model


_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]"  # [IPv6]
    r"|(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$"
)


def scheduler_address(text: str) -> str:
    """``text`` if it is a dask scheduler address (``[tcp://]HOST:PORT``; also tls, ws,
    wss, ucx), else a clear error at once (dask would try to connect for a minute)."""
    address = str(text).strip()
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    fix = "write tcp://HOST:PORT, e.g. tcp://192.168.1.10:8786 (see `dask scheduler`)"
    if scheme.lower() not in _SCHEMES:
        raise YaanSimError(
            f"scheduler address {text!r}: unknown protocol {scheme!r} "
            f"(one of {', '.join(_SCHEMES)}): {fix}"
        )
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise YaanSimError(f"scheduler address {text!r} has no port from 1 to 65535: {fix}")
    if not _HOST.match(host):
        raise YaanSimError(f"scheduler address {text!r}: {host!r} is not a host name: {fix}")
    return address


def connect(scheduler: str | None = None, workers: int | None = None) -> tuple[Any, Any]:
    """A ``distributed.Client`` (and the LocalCluster it owns, or None), or (None, None).

    ``scheduler`` wins over ``workers``; ``workers`` of 0 or 1 means in-process.
    """
    if not scheduler and not (workers and workers > 1):
        return None, None
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise YaanSimError(
            "dask.distributed is not installed: pip install -e . (it is a dependency of yaan-sim)"
        ) from None
    if scheduler:
        scheduler = scheduler_address(scheduler)
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False), None
        except (OSError, TimeoutError) as exc:
            raise YaanSimError(
                f"cannot reach the dask scheduler at {scheduler} ({exc}). Start "
                "one with `dask scheduler`, check the address (tcp://HOST:PORT) "
                "and that this machine can reach it"
            ) from None
    cluster = LocalCluster(
        n_workers=int(workers or 2),
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    )
    return Client(cluster, set_as_default=False), cluster


SHARED_KEYS = ("spec", "overrides")


def _share(client: Any, payloads: Sequence[dict]) -> list[dict]:
    """Send the parts that chunks have in common (the model, a scenario's levers) to the
    cluster once, and let each payload refer to them, instead of one copy per chunk."""
    sent: dict[int, object] = {}
    out = []
    for p in payloads:
        q = dict(p)
        for key in SHARED_KEYS:
            if key in q:
                obj = q[key]
                if id(obj) not in sent:
                    sent[id(obj)] = client.scatter(obj, hash=False)
                q[key] = sent[id(obj)]
        out.append(q)
    return out


def run_chunks(
    func: Callable,
    payloads: Sequence[dict],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    model: ModelLike | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list:
    """Run ``func(payload, model=None)`` for every payload; results in payload order.

    Parameters
    ----------
    func : callable
        A module-level function (dask pickles it by reference). In-process it is called
        with ``model=model``, on workers with ``model=None`` (it loads the model itself).
    payloads : sequence of dict
        One per chunk; picklable.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Local worker processes (a LocalCluster) when no scheduler is given.
    on_result : callable, optional
        ``on_result(index, result)`` as each chunk finishes (in finishing order), e.g. to
        save it or move a progress bar.
    """
    client, cluster = connect(scheduler, workers)
    if client is None:
        out = []
        for i, p in enumerate(payloads):
            res = func(p, model=model)
            if on_result is not None:
                on_result(i, res)
            out.append(res)
        return out
    from distributed import as_completed

    futures = []
    try:
        payloads = _share(client, payloads)
        futures = [client.submit(func, p, pure=False) for p in payloads]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        with client.as_current():  # as_completed needs a current client; no global default
            for fut in as_completed(futures):
                i = index[fut.key]
                res = results[i] = fut.result()
                if on_result is not None:
                    on_result(i, res)
        return results
    finally:
        for f in futures:
            f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
