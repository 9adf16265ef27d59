"""activerm.StrategyParams and activerm.FitOptions without a server: defaults, the checks
of __post_init__ (the proto's documented ranges, 0 meaning the server's default), and
that a Selection's params travel back into a request unchanged."""
from __future__ import annotations

import dataclasses

import grpc
import numpy as np
import pytest

import activerm
from activerm import _parse, _requests
from activerm.v1 import activerm_pb2 as pb


def test_defaults_are_zero_the_servers_defaults_on_the_wire():
    assert dataclasses.astuple(activerm.StrategyParams()) == (0.0, 0, 0.0, 0, 0, 0)
    assert activerm.FitOptions() == activerm.FitOptions(
        warm_start=False, seed=0, max_iterations=0, tolerance=0.0, learning_rate=0.0, epochs=0, batch_size=0,
        weight_decay=0.0, validation_fraction=0.0, patience=0)
    assert _requests.strategy_params(activerm.StrategyParams(), **dict.fromkeys(
        ["ridge", "coreset_clusters", "coreset_radius", "posterior_samples", "batchbald_pool",
         "batchbald_configurations"])) == pb.StrategyParams()


def test_frozen_and_fit_options_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        activerm.StrategyParams().ridge = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        activerm.FitOptions().epochs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        activerm.FitOptions(True)  # type: ignore[misc]
    assert activerm.StrategyParams(0.5, 3) == activerm.StrategyParams(ridge=0.5, coreset_clusters=3)


def test_numpy_scalars_are_normalised():
    p = activerm.StrategyParams(ridge=np.float32(0.5), coreset_clusters=np.int64(3))
    assert (type(p.ridge), type(p.coreset_clusters)) == (float, int) and p == activerm.StrategyParams(0.5, 3)
    o = activerm.FitOptions(warm_start=np.bool_(True), epochs=np.int32(4), learning_rate=np.float64(0.01))
    assert (o.warm_start, type(o.epochs), type(o.learning_rate)) == (True, int, float)


@pytest.mark.parametrize(("kwargs", "field", "text"), [
    ({"ridge": -1.0}, "params.ridge", "is -1.0; use a finite value >= 0 (0 means 1e-6 * trace / h)"),
    ({"ridge": float("nan")}, "params.ridge", "use a finite value >= 0"),
    ({"ridge": "1e-3"}, "params.ridge", "must be a number, got str"),
    ({"coreset_clusters": 1001}, "params.coreset_clusters", "is 1001; use 0..1000 (0 means 10)"),
    ({"coreset_clusters": 2.0}, "params.coreset_clusters", "must be an int, got float"),
    ({"coreset_radius": float("inf")}, "params.coreset_radius", "use a finite value >= 0"),
    ({"posterior_samples": -1}, "params.posterior_samples", "use 0..100000 (0 means 256)"),
    ({"batchbald_pool": 1_000_001}, "params.batchbald_pool", "use 0..1000000"),
    ({"batchbald_configurations": True}, "params.batchbald_configurations", "must be an int, got bool"),
    ({"batchbald_configurations": 65537}, "params.batchbald_configurations", "use 0..65536 (0 means 1024)"),
])
def test_strategy_params_checks(kwargs, field, text):
    with pytest.raises(activerm.InvalidInputError) as e:
        activerm.StrategyParams(**kwargs)
    assert isinstance(e.value, ValueError) and e.value.client_side
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in e.value.field_violations] == [field]
    assert text in e.value.message


@pytest.mark.parametrize(("kwargs", "field", "text"), [
    ({"warm_start": 1}, "options.warm_start", "must be a bool, got int"),
    ({"seed": -1}, "options.seed", "is -1; use 0..18446744073709551615"),
    ({"seed": 2**64}, "options.seed", "use 0..18446744073709551615"),
    ({"max_iterations": 1001}, "options.max_iterations", "is 1001; use 0..1000 (0 means 100)"),
    ({"tolerance": -1e-9}, "options.tolerance", "use a finite value >= 0 (0 means 1e-8)"),
    ({"learning_rate": float("nan")}, "options.learning_rate", "use a finite value >= 0 (0 means 1e-3)"),
    ({"epochs": 100_001}, "options.epochs", "use 0..100000 (0 means 10)"),
    ({"batch_size": "8"}, "options.batch_size", "must be an int, got str"),
    ({"weight_decay": -0.1}, "options.weight_decay", "use a finite value >= 0"),
    ({"validation_fraction": 0.5}, "options.validation_fraction", "is 0.5; use 0 <= value < 0.5"),
    ({"patience": -1}, "options.patience", "use 0..2147483647 (0 means 3)"),
])
def test_fit_options_checks(kwargs, field, text):
    with pytest.raises(activerm.InvalidInputError) as e:
        activerm.FitOptions(**kwargs)
    assert [v.field for v in e.value.field_violations] == [field]
    assert text in e.value.message


def test_the_documented_bounds_themselves_are_accepted():
    activerm.StrategyParams(ridge=1e300, coreset_clusters=1000, coreset_radius=0.0, posterior_samples=100_000,
                            batchbald_pool=1_000_000, batchbald_configurations=65536)
    activerm.FitOptions(seed=2**64 - 1, max_iterations=1000, epochs=100_000, batch_size=1_000_000,
                        validation_fraction=0.4999, patience=2**31 - 1)


def test_a_selections_params_parse_into_strategy_params_and_travel_back():
    sent = pb.StrategyParams(ridge=0.5, coreset_clusters=10, posterior_samples=256, batchbald_configurations=1024)
    params = _parse.strategy_params(sent, "GetSelection")
    assert params == activerm.StrategyParams(ridge=0.5, coreset_clusters=10, coreset_radius=0.0,
                                             posterior_samples=256, batchbald_pool=0, batchbald_configurations=1024)
    assert _requests.strategy_params(params, **dict.fromkeys(
        ["ridge", "coreset_clusters", "coreset_radius", "posterior_samples", "batchbald_pool",
         "batchbald_configurations"])) == sent


def test_params_out_of_range_from_the_server_are_data_loss_not_a_client_side_error():
    with pytest.raises(activerm.ActiveRmError) as e:
        _parse.strategy_params(pb.StrategyParams(coreset_clusters=5000), "GetSelection")
    assert e.value.code == grpc.StatusCode.DATA_LOSS and not e.value.client_side
    assert e.value.method == "GetSelection"
    assert "params.coreset_clusters is 5000" in e.value.message
