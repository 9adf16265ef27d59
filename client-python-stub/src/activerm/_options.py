"""The knobs of SelectBatch's strategies and of Fit, as frozen dataclasses:
``select_batch(64, params=StrategyParams(ridge=1e-3))`` and ``fit(options=FitOptions(epochs=20))``.

They mirror the Java client's FitOptions and the server's StrategyParams record: 0 means
the server's documented default, as on the wire, and every field is checked against the
range the proto documents when the object is built (``__post_init__``), so a bad value
fails where it was written (InvalidInputError, a ValueError), before any call.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from ._checks import INT32_MAX, UINT64_MAX, check_bool
from ._errors import invalid


def _knob(default: Any, check: Callable[[str, Any], Any]) -> Any:
    """A field with its default and the check __post_init__ applies to it."""
    return field(default=default, metadata={"check": check})


def _count(hi: int, default: str | None):
    """An int in 0..hi; 0 means `default` (None: 0 is an ordinary value)."""
    def check(path: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise invalid(path, f"must be an int, got {type(value).__name__}")
        v = int(value)
        if not 0 <= v <= hi:
            raise invalid(path, f"is {v}; use 0..{hi}" + (f" (0 means {default})" if default else ""))
        return v
    return check


def _number(default: str, below: float | None = None):
    """A finite float >= 0 (and < below); 0 means `default`."""
    def check(path: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise invalid(path, f"must be a number, got {type(value).__name__}")
        v = float(value)
        if not (math.isfinite(v) and v >= 0 and (below is None or v < below)):
            use = "a finite value >= 0" if below is None else f"0 <= value < {below}"
            raise invalid(path, f"is {v}; use {use} (0 means {default})")
        return v
    return check


@dataclass(frozen=True)
class StrategyParams:
    """Strategy knobs, for ``select_batch(params=...)``; also the knobs a selection used
    (``Selection.params``, with the server's defaults filled in). 0: the server's default.

    Attributes:
        ridge: OLS_DOPT / DOPT / PAST_AWARE_DOPT ridge epsilon added to the information
            matrix, finite, >= 0. 0: 1e-6 * trace / h (and 0.0 in a Selection). BATCH_DOPT, VOPT:
            added on top of lambda I; 0: none.
        coreset_clusters: CORESET k-means clusters, 0..1000. 0: 10.
        coreset_radius: CORESET radius of the parameter ball, finite, >= 0. 0: the norm
            of the model's last layer, 1.0 without a model (and 0.0 in a Selection).
        posterior_samples: BATCHBALD posterior samples of w, 0..100000. 0: 256.
        batchbald_pool: BATCHBALD chooses among this many top candidates by BALD,
            0..1000000. 0: max(1000, 10 * batch size), at most the candidates.
        batchbald_configurations: BATCHBALD joint label configurations enumerated exactly
            up to this many, then sampled, 0..65536. 0: 1024.
    """

    ridge: float = _knob(0.0, _number("1e-6 * trace / h"))
    coreset_clusters: int = _knob(0, _count(1000, "10"))
    coreset_radius: float = _knob(0.0, _number("the norm of w"))
    posterior_samples: int = _knob(0, _count(100_000, "256"))
    batchbald_pool: int = _knob(0, _count(1_000_000, "max(1000, 10 * batch size)"))
    batchbald_configurations: int = _knob(0, _count(65536, "1024"))

    def __post_init__(self) -> None:
        _check(self, "params")


@dataclass(frozen=True, kw_only=True)
class FitOptions:
    """Fit knobs, for ``fit(options=...)``; the names of the Java client's FitOptions.
    0: the server's default.

    Attributes:
        warm_start: start from the latest model's parameters instead of a fresh start.
        seed: initialisation, shuffling and the held-out split, 0..2**64-1; the same seed
            and data give a bit-identical model.
        max_iterations: LINEAR: Newton iterations, 0..1000. 0: 100.
        tolerance: LINEAR: gradient infinity-norm target, finite, >= 0. 0: 1e-8.
        learning_rate: MLP: Adam step, finite, >= 0. 0: 1e-3.
        epochs: MLP: passes over the comparisons, 0..100000. 0: 10 (must be 0 with until_converged).
        batch_size: MLP: comparisons per minibatch, 0..1000000. 0: 256.
        weight_decay: MLP: decoupled weight decay, finite, >= 0. 0: none.
        validation_fraction: MLP: fraction held out for early stopping, 0 <= f < 0.5. 0: none.
        patience: MLP: epochs without held-out improvement before stopping, >= 0. 0: 3.
        until_converged: MLP: train until the penalised training objective stops improving, at
            most 4000 Adam steps, instead of for epochs (FitReport.converged says whether it did).
    """

    warm_start: bool = _knob(False, check_bool)
    seed: int = _knob(0, _count(UINT64_MAX, None))
    max_iterations: int = _knob(0, _count(1000, "100"))
    tolerance: float = _knob(0.0, _number("1e-8"))
    learning_rate: float = _knob(0.0, _number("1e-3"))
    epochs: int = _knob(0, _count(100_000, "10"))
    batch_size: int = _knob(0, _count(1_000_000, "256"))
    weight_decay: float = _knob(0.0, _number("none"))
    validation_fraction: float = _knob(0.0, _number("no held-out set", below=0.5))
    patience: int = _knob(0, _count(INT32_MAX, "3"))
    until_converged: bool = _knob(False, check_bool)

    def __post_init__(self) -> None:
        _check(self, "options")


def _check(obj: Any, prefix: str) -> None:
    """Checks each field with the check its _knob names, and stores it normalised (numpy
    scalars become bool / int / float)."""
    for f in fields(obj):
        object.__setattr__(obj, f.name, f.metadata["check"](f"{prefix}.{f.name}", getattr(obj, f.name)))
