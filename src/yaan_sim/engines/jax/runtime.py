"""The JAX engine's public object: :class:`JaxModel`, the vector engine run by XLA.

A JaxModel is a :class:`~yaan_sim.engines.vector.VectorModel` (same plan, overrides,
time grid, results Dataset and refusals) whose simulation program is written for
``jax.jit`` (:mod:`.codegen`) instead of numpy. Samples are integrated in chunks of
equal, rounded sizes (the last chunk padded with copies of its last sample) so that one
compiled program serves a run; each new kind of run, horizon or chunk size compiles once.
Arrays are float64 (``jax.enable_x64`` around every trace and call, so the user's
own JAX settings are left alone).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jax
import numpy as np

from yaan_sim.engines.jax.codegen import JaxProgram, build_jax_program
from yaan_sim.engines.vector.assemble import Block
from yaan_sim.engines.vector.runtime import VectorModel
from yaan_sim.paths import cache_dir


@lru_cache(maxsize=1)
def keep_compiled_programs() -> Path | None:
    """Have XLA keep what it compiles in yaan-sim's cache folder (``xla/``), so that a new
    process's first run of a kind loads it instead of compiling again: the park model's
    plan run, 3.9 s -> 1.3 s (the trace remains). Left alone where JAX's cache folder is
    set already (by the user) or ours cannot be made. Returns the folder it set."""
    if getattr(jax.config, "jax_compilation_cache_dir", None):
        return None
    folder = cache_dir() / "xla"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    return folder


def _chunk_length(n: int, size: int) -> int:
    """Samples per chunk: equal chunks of at most ``size``, rounded up (to a power of two
    under 1,024, else to a multiple of 1,024) so that nearby N reuse one compilation."""
    per = -(-n // -(-n // size))
    if per <= 1024:
        return 1 << (per - 1).bit_length()
    return -(-per // 1024) * 1024


def _take(params: dict, lo: int, hi: int, n: int, length: int, axis: int) -> dict:
    """Samples lo:hi of every per-sample array, padded to ``length`` with the last one."""

    def cut(v, ax):
        if v.shape[ax] != n or n == 1:
            return v  # shared by all samples
        part = v[lo:hi] if ax == 0 else v[:, lo:hi]
        if hi - lo < length:
            pad = [(0, 0)] * part.ndim
            pad[ax] = (0, length - (hi - lo))
            part = np.pad(part, pad, mode="edge")
        return part

    out = {}
    for key, v in params.items():
        if isinstance(v, tuple):  # a lookup: (x values, table (K, sample, ...))
            out[key] = (v[0], cut(v[1], 1))
        else:
            out[key] = cut(v, axis)
    return out


class JaxModel(VectorModel):
    """A .mdl compiled to JAX, run for many samples at once (``engine="jax"``).

    ``run()`` takes the same arguments and returns the same Dataset as
    :meth:`VectorModel.run`; ``threads`` is ignored (XLA uses its own threads).
    """

    #: samples per compiled call; None: :meth:`default_chunk_size`
    chunk_size: int | None = None
    #: XLA fuses the time loop's work already: one program for one run and for many
    saved_after_loop = False

    @classmethod
    def from_vector(cls, vm: VectorModel) -> JaxModel:
        """The JAX engine for an already compiled vector model (no second parse)."""
        return cls(vm.plan)

    @classmethod
    def for_vector(cls, vm: VectorModel) -> JaxModel:
        """As :meth:`from_vector`, kept on ``vm`` so that its compiled programs are reused."""
        jm = vm.__dict__.get("_jax_model")
        if jm is None:
            jm = vm.__dict__["_jax_model"] = cls.from_vector(vm)
        return jm

    def default_chunk_size(self) -> int:
        """On a CPU the numpy engine's (:meth:`VectorModel.default_chunk_size`: a chunk's
        arrays in a core's cache; 512 for the park model): 10,000 samples took 1.2 s there,
        2.5 s in chunks of 16,384 (2,048-32,768 ran at that speed) on the 2-core machine.
        262,144 on an accelerator, whose many cores want large arrays."""
        if jax.default_backend() == "cpu":
            return super().default_chunk_size()
        return 262144

    @property
    def device(self) -> str:
        """The device XLA runs on, e.g. ``cpu:0`` or ``cuda:0``."""
        d = jax.devices()[0]
        return f"{d.platform}:{d.id}"

    def _build(self, kinds: dict, returns: list, one_run: bool = False) -> JaxProgram:
        # one_run is never True here (saved_after_loop is False): one program for both
        keep_compiled_programs()  # before anything of this kind is compiled
        return build_jax_program(self.plan, kinds, returns)

    def _integrate(
        self,
        prog: JaxProgram,
        P,
        SC,
        SCI,
        args,
        n: int,
        size: int,
        workers: int,
        block: Block | None = None,
    ):
        times, flags, t_init, ti_init, ti_run, tf, dt, sp, recompute = args
        flags = np.asarray(flags, dtype=bool)
        slots = np.maximum(np.cumsum(flags) - 1, 0)
        with np.errstate(all="ignore"):
            stages = prog.counts(P, SCI, t_init, ti_init, tf, dt, sp)
        length = n if n == 1 else _chunk_length(n, size)
        bounds = [(lo, min(lo + length, n)) for lo in range(0, n, length)]
        static = (stages, bool(recompute), length, int(flags.sum()), bool(flags.all()))
        scalars = (t_init, ti_init, ti_run, tf, dt, sp)
        parts: list = []

        def fetch(lo, hi, result):
            flat, unpack = result
            consts, outs = unpack(np.asarray(jax.device_get(flat)))
            m = hi - lo
            consts = {k: v[:m] if v.shape[0] == length > 1 else v for k, v in consts.items()}
            outs = {k: v[:, :m] for k, v in outs.items()}
            parts.append(Block.keep(block, lo, hi, consts, outs))  # the host copy goes

        with jax.enable_x64(True):
            fn = prog.jitted(*static)
            grid = (np.asarray(times, dtype=float), flags, slots)
            pending: list = []
            for lo, hi in bounds:
                sub = [_take(x, lo, hi, n, length, ax) for x, ax in ((P, 0), (SC, 1), (SCI, 0))]
                pending.append((lo, hi, fn(*sub, *grid, *scalars)))  # returns at once
                if len(pending) == 2:  # one chunk in flight while the last comes back
                    fetch(*pending.pop(0))
            for item in pending:
                fetch(*item)
        return parts
