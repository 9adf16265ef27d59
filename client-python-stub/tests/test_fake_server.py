"""The client against a scripted in-test gRPC server: what goes on the wire for
Fit/Score/SelectBatch/GetSelection, how their answers become typed results, and which
calls are retried after UNAVAILABLE (reads only) and which never are."""
from __future__ import annotations

import asyncio
import threading
from concurrent import futures

import grpc
import numpy as np
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

import activerm
import activerm.aio
from activerm.v1 import activerm_pb2 as pb
from activerm.v1 import activerm_pb2_grpc as pb_grpc

PROJECT = pb.Project(project_id="fake", embedding_dim=3, head=pb.HeadConfig(type=pb.HEAD_TYPE_LINEAR), l2=1.0)
PROJECT.create_time.FromSeconds(1_700_000_000)


class Scripted(pb_grpc.ActiveRewardModelingServiceServicer):
    """Records every request; fails a method with a scripted status the first N times."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, object]] = []
        self.failures: dict[str, list[grpc.StatusCode]] = {}
        self.lock = threading.Lock()

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def _enter(self, method, request, context):
        with self.lock:
            self.requests.append((method, request))
            queue = self.failures.get(method)
            code = queue.pop(0) if queue else None
        if code is not None:
            context.abort(code, f"scripted {code.name}")

    def GetProject(self, request, context):
        self._enter("GetProject", request, context)
        return pb.GetProjectResponse(project=PROJECT)

    def CreateProject(self, request, context):
        self._enter("CreateProject", request, context)
        return pb.CreateProjectResponse(project=PROJECT)

    def AddComparisons(self, request, context):
        self._enter("AddComparisons", request, context)
        return pb.AddComparisonsResponse(num_added=len(request.comparisons))

    def AddResponses(self, request_iterator, context):
        chunks = list(request_iterator)
        self._enter("AddResponses", chunks, context)
        return pb.AddResponsesResponse(num_added=sum(c.embeddings.rows for c in chunks))

    def Fit(self, request, context):
        self._enter("Fit", request, context)
        model = pb.Model(version=7, head_type=pb.HEAD_TYPE_LINEAR, report=pb.FitReport(
            loss=0.25, iterations=12, gradient_norm=1e-9, converged=True, train_accuracy=0.8,
            validation_accuracy=0.0, num_comparisons=40))
        model.report.wall_time.FromMilliseconds(1500)
        model.create_time.FromSeconds(1_700_000_100)
        return pb.FitResponse(model=model)

    def Score(self, request, context):
        self._enter("Score", request, context)
        if request.HasField("response_ids"):
            n = len(request.response_ids.ids)
        elif request.HasField("embeddings"):
            n = request.embeddings.rows
        else:
            n = 0
        return pb.ScoreResponse(
            model_version=request.model_version or 7,
            rewards=[0.5 * i for i in range(n)],
            pair_scores=[pb.PairScore(a_id=p.a_id, b_id=p.b_id, probability=0.75, reward_diff_stddev=0.1)
                         for p in request.pairs])

    def _selection(self, request_seed=0):
        s = pb.Selection(selection_id="sel-42", model_version=7, strategy=pb.STRATEGY_DOPT, seed=request_seed,
                         batch_size=2, num_candidates=15, max_candidates=1000, include_pending=True,
                         candidate_source=pb.CANDIDATE_SOURCE_WITHIN_PROMPT,
                         params=pb.StrategyParams(ridge=0.5, coreset_clusters=10, posterior_samples=256,
                                                  batchbald_configurations=1024),
                         pairs=[pb.ScoredPair(a_id="x", b_id="y", score=2.0),
                                pb.ScoredPair(a_id="y", b_id="z", score=1.0)])
        s.create_time.FromSeconds(1_700_000_200)
        s.wall_time.FromMilliseconds(20)
        return s

    def SelectBatch(self, request, context):
        self._enter("SelectBatch", request, context)
        return pb.SelectBatchResponse(selection=self._selection(request.seed))

    def GetSelection(self, request, context):
        self._enter("GetSelection", request, context)
        return pb.GetSelectionResponse(selection=self._selection())

    def ListProjects(self, request, context):
        self._enter("ListProjects", request, context)
        rich = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="bad page")
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="page_token", description="unrecognised")]))
        rich.details.append(detail)
        context.abort_with_status(_RichStatus(rich))


class _RichStatus(grpc.Status):
    def __init__(self, status):
        self.code = grpc.StatusCode.INVALID_ARGUMENT
        self.details = status.message
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


@pytest.fixture
def fake():
    servicer = Scripted()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_ActiveRewardModelingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.target = f"127.0.0.1:{port}"
    yield servicer
    server.stop(grace=None)


@pytest.fixture
def fake_project(fake):
    with activerm.Client(fake.target, timeout=10) as client:
        yield client.get_project("fake")


# -- mapping of the model RPCs


def test_fit_request_and_report(fake, fake_project):
    report = fake_project.fit(seed=3, warm_start=True, max_iterations=50, tolerance=1e-6, epochs=4)
    _, req = fake.requests[-1]
    assert (req.project_id, req.seed, req.warm_start) == ("fake", 3, True)
    assert (req.linear.max_iterations, req.linear.tolerance) == (50, 1e-6)
    assert (req.mlp.epochs, req.mlp.learning_rate) == (4, 0.0)
    assert isinstance(report, activerm.FitReport)
    assert (report.model_version, report.head, report.loss, report.iterations) == (7, "linear", 0.25, 12)
    assert (report.converged, report.train_accuracy, report.num_comparisons) == (True, 0.8, 40)
    assert report.wall_time_s == 1.5
    assert report.create_time.timestamp() == 1_700_000_100


def test_score_ids_returns_a_float64_array(fake, fake_project):
    rewards = fake_project.score(["a", "b", "c"], model_version=2)
    _, req = fake.requests[-1]
    assert list(req.response_ids.ids) == ["a", "b", "c"] and req.model_version == 2
    assert isinstance(rewards, np.ndarray) and rewards.dtype == np.float64
    np.testing.assert_array_equal(rewards, [0.0, 0.5, 1.0])


def test_score_embeddings_sends_little_endian_float32(fake, fake_project):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    rewards = fake_project.score(embeddings=x)
    _, req = fake.requests[-1]
    assert (req.embeddings.rows, req.embeddings.cols) == (2, 3)
    np.testing.assert_array_equal(np.frombuffer(req.embeddings.data, dtype="<f4").reshape(2, 3), x)
    assert rewards.shape == (2,)


def test_score_pairs(fake, fake_project):
    scores = fake_project.score_pairs([("a", "b"), ("c", "d")])
    _, req = fake.requests[-1]
    assert [(p.a_id, p.b_id) for p in req.pairs] == [("a", "b"), ("c", "d")]
    assert not req.HasField("response_ids") and not req.HasField("embeddings")
    assert scores.a_ids == ["a", "c"] and scores.b_ids == ["b", "d"] and scores.model_version == 7
    np.testing.assert_array_equal(scores.probabilities, [0.75, 0.75])
    np.testing.assert_array_equal(scores.reward_diff_stddevs, [0.1, 0.1])


@pytest.mark.parametrize(
    ("candidates", "which"),
    [("cross_prompt", "cross_prompt"), ("within_prompt", "within_prompt"),
     ([("x", "y"), ("y", "z")], "explicit_pairs"), (np.array([["x", "y"]]), "explicit_pairs")],
)
def test_select_batch_request_and_selection(fake, fake_project, candidates, which):
    sel = fake_project.select_batch(size=2, strategy="DOPT", candidates=candidates, max_candidates=1000,
                                    seed=2**64 - 1, include_pending=True, model_version=7)
    _, req = fake.requests[-1]
    assert (req.batch_size, req.strategy, req.max_candidates, req.seed) == (2, pb.STRATEGY_DOPT, 1000, 2**64 - 1)
    assert (req.include_labeled, req.include_pending, req.model_version) == (False, True, 7)
    assert req.candidates.WhichOneof("source") == which
    if which == "explicit_pairs":
        assert [(p.a_id, p.b_id) for p in req.candidates.explicit_pairs.pairs] == [tuple(p) for p in candidates]
    assert isinstance(sel, activerm.Selection)
    assert (sel.selection_id, sel.strategy, sel.model_version, sel.num_candidates) == ("sel-42", "dopt", 7, 15)
    assert [(p.a_id, p.b_id, p.score) for p in sel.pairs] == [("x", "y", 2.0), ("y", "z", 1.0)]
    np.testing.assert_array_equal(sel.scores, [2.0, 1.0])
    assert sel.a_ids == ["x", "y"] and len(sel) == 2 and sel.wall_time_s == 0.02
    assert (sel.candidates, sel.max_candidates, sel.include_labeled, sel.include_pending) == (
        "within_prompt", 1000, False, True)
    assert sel.params == activerm.StrategyParams(ridge=0.5, coreset_clusters=10, coreset_radius=0.0,
                                                 posterior_samples=256, batchbald_pool=0,
                                                 batchbald_configurations=1024)


def test_select_batch_strategy_knobs(fake, fake_project):
    fake_project.select_batch(2, strategy="batchbald", ridge=1e-3, coreset_clusters=4, coreset_radius=2.5,
                              posterior_samples=64, batchbald_pool=100, batchbald_configurations=16)
    _, req = fake.requests[-1]
    assert req.params == pb.StrategyParams(ridge=1e-3, coreset_clusters=4, coreset_radius=2.5, posterior_samples=64,
                                           batchbald_pool=100, batchbald_configurations=16)
    fake_project.select_batch(2)
    _, req = fake.requests[-1]
    assert req.params == pb.StrategyParams()  # all unset: the server's defaults


def test_select_batch_defaults(fake, fake_project):
    fake_project.select_batch(64)
    _, req = fake.requests[-1]
    assert req.strategy == pb.STRATEGY_GREEDY_DOPT
    assert req.candidates.WhichOneof("source") == "cross_prompt"
    assert (req.max_candidates, req.seed, req.model_version) == (0, 0, 0)


def test_get_selection(fake, fake_project):
    sel = fake_project.get_selection("sel-42")
    _, req = fake.requests[-1]
    assert (req.project_id, req.selection_id) == ("fake", "sel-42")
    assert sel.pairs[0] == activerm.ScoredPair("x", "y", 2.0)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.select_batch(2, strategy="best"), "strategy"),
        (lambda p: p.select_batch(2, candidates="everything"), "candidates"),
        (lambda p: p.select_batch(2, candidates=[("a", "b", "c")]), "candidates[0]"),
        (lambda p: p.select_batch(2, candidates=[]), "candidates"),
        (lambda p: p.select_batch(2, seed=-1), "seed"),
        (lambda p: p.select_batch(2, seed=2**64), "seed"),
        (lambda p: p.select_batch(2.5), "size"),
        (lambda p: p.select_batch(2, max_candidates=0), "max_candidates"),
        (lambda p: p.select_batch(2, model_version=0), "model_version"),
        (lambda p: p.select_batch(2, ridge=0.0), "ridge"),
        (lambda p: p.select_batch(2, ridge=float("nan")), "ridge"),
        (lambda p: p.select_batch(2, coreset_radius=-1.0), "coreset_radius"),
        (lambda p: p.select_batch(2, coreset_clusters=1001), "coreset_clusters"),
        (lambda p: p.select_batch(2, posterior_samples=0), "posterior_samples"),
        (lambda p: p.select_batch(2, batchbald_configurations=70000), "batchbald_configurations"),
        (lambda p: p.score(), "ids"),
        (lambda p: p.score(["a"], embeddings=np.zeros((1, 3))), "ids"),
        (lambda p: p.score(embeddings=np.zeros((1, 4), dtype=np.float32)), "embeddings"),
        (lambda p: p.score(embeddings=np.array([[np.nan, 0, 0]])), "embeddings[0, 0]"),
        (lambda p: p.score_pairs([]), "pairs"),
        (lambda p: p.score_pairs(["ab"]), "pairs[0]"),
        (lambda p: p.fit(seed=-1), "seed"),
        (lambda p: p.fit(tolerance=0), "tolerance"),
        (lambda p: p.fit(learning_rate=0.0), "learning_rate"),
        (lambda p: p.get_selection(42), "selection_id"),
    ],
)
def test_model_rpc_inputs_are_checked_before_sending(fake, fake_project, call, field):
    sent = len(fake.requests)
    with pytest.raises(activerm.InvalidInputError) as e:
        call(fake_project)
    assert [v.field for v in e.value.field_violations] == [field]
    assert len(fake.requests) == sent, "nothing may reach the server"


# -- errors with details, retries


def test_bad_request_details_become_field_violations(fake):
    with activerm.Client(fake.target, timeout=10) as client:
        with pytest.raises(activerm.ActiveRmError) as e:
            client.list_projects()
    err = e.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.message == "bad page"
    assert err.field_violations == (activerm.FieldViolation("page_token", "unrecognised"),)
    assert str(err) == "ListProjects: INVALID_ARGUMENT: bad page\n  page_token: unrecognised"
    assert fake.count("ListProjects") == 1, "INVALID_ARGUMENT is never retried"


def test_reads_are_retried_on_unavailable(fake):
    fake.failures["GetProject"] = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
    with activerm.Client(fake.target, timeout=20) as client:
        project = client.get_project("fake")
    assert project.id == "fake"
    assert fake.count("GetProject") == 3


def test_reads_give_up_after_four_attempts(fake):
    fake.failures["GetProject"] = [grpc.StatusCode.UNAVAILABLE] * 10
    with activerm.Client(fake.target, timeout=20) as client:
        with pytest.raises(activerm.ActiveRmError) as e:
            client.get_project("fake")
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert fake.count("GetProject") == 4


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("CreateProject", lambda c, p: c.create_project("fake", embedding_dim=3)),
        ("AddComparisons", lambda c, p: p.add_comparisons(["a"], ["b"], ["a"])),
        ("AddResponses", lambda c, p: p.add_responses(["a"], ["q"], np.zeros((1, 3)))),
        ("Fit", lambda c, p: p.fit()),
        ("SelectBatch", lambda c, p: p.select_batch(2)),
    ],
)
def test_writes_are_never_retried(fake, method, call):
    with activerm.Client(fake.target, timeout=20) as client:
        project = client.get_project("fake")
        fake.failures[method] = [grpc.StatusCode.UNAVAILABLE]
        with pytest.raises(activerm.ActiveRmError) as e:
            call(client, project)
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert fake.count(method) == 1


def test_deadline_exceeded_from_the_server_is_not_retried(fake):
    fake.failures["GetProject"] = [grpc.StatusCode.DEADLINE_EXCEEDED]
    with activerm.Client(fake.target, timeout=20) as client:
        with pytest.raises(activerm.ActiveRmError) as e:
            client.get_project("fake")
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "pass a larger timeout=" in e.value.message
    assert fake.count("GetProject") == 1


def test_aio_reads_retry_and_writes_do_not(fake):
    async def run():
        async with activerm.aio.Client(fake.target, timeout=20) as client:
            fake.failures["GetProject"] = [grpc.StatusCode.UNAVAILABLE]
            project = await client.get_project("fake")
            fake.failures["Fit"] = [grpc.StatusCode.UNAVAILABLE]
            with pytest.raises(activerm.ActiveRmError) as e:
                await project.fit()
            assert e.value.code == grpc.StatusCode.UNAVAILABLE
            report = await project.fit(seed=5)
            sel = await project.select_batch(2, strategy="dopt", candidates="within_prompt")
            rewards = await project.score(["a", "b"])
            return report, sel, rewards

    report, sel, rewards = asyncio.run(run())
    assert fake.count("GetProject") == 2 and fake.count("Fit") == 2
    assert report.model_version == 7 and sel.selection_id == "sel-42"
    np.testing.assert_array_equal(rewards, [0.0, 0.5])


# -- StrategyParams and FitOptions: the same requests as the keywords


def test_select_batch_params_send_the_same_request_as_the_keywords(fake, fake_project):
    knobs = dict(ridge=1e-3, coreset_clusters=4, coreset_radius=2.5, posterior_samples=64, batchbald_pool=100,
                 batchbald_configurations=16)
    fake_project.select_batch(2, strategy="batchbald", seed=9, **knobs)
    _, by_keywords = fake.requests[-1]
    sel = fake_project.select_batch(2, strategy="batchbald", seed=9, params=activerm.StrategyParams(**knobs))
    _, by_params = fake.requests[-1]
    assert by_params == by_keywords
    assert by_params.params == pb.StrategyParams(**knobs)

    fake_project.select_batch(2, params=activerm.StrategyParams())
    _, req = fake.requests[-1]
    assert req.params == pb.StrategyParams()  # all zero: the server's defaults

    fake_project.select_batch(2, params=sel.params)  # a Selection's params repeat its knobs
    _, req = fake.requests[-1]
    assert req.params == pb.StrategyParams(ridge=0.5, coreset_clusters=10, posterior_samples=256,
                                           batchbald_configurations=1024)


def test_fit_options_send_the_same_request_as_the_keywords(fake, fake_project):
    knobs = dict(seed=3, warm_start=True, max_iterations=50, tolerance=1e-6, learning_rate=1e-2, epochs=4,
                 batch_size=16, weight_decay=0.1, validation_fraction=0.2, patience=2)
    fake_project.fit(**knobs)
    _, by_keywords = fake.requests[-1]
    report = fake_project.fit(options=activerm.FitOptions(**knobs))
    _, by_options = fake.requests[-1]
    assert by_options == by_keywords
    assert report.model_version == 7

    fake_project.fit(options=activerm.FitOptions())
    _, req = fake.requests[-1]
    fake_project.fit()
    _, default = fake.requests[-1]
    assert req == default == pb.FitRequest(project_id="fake", linear=pb.LinearFitOptions(), mlp=pb.MlpFitOptions())


@pytest.mark.parametrize(
    ("call", "field", "text"),
    [
        (lambda p: p.select_batch(2, params=activerm.StrategyParams(), ridge=1.0), "params",
         "params is given together with ridge=; put every knob in the StrategyParams"),
        (lambda p: p.select_batch(2, params={"ridge": 1.0}), "params", "must be an activerm.StrategyParams, got dict"),
        (lambda p: p.fit(options=activerm.FitOptions(), epochs=3, seed=1), "options",
         "options is given together with seed=, epochs=; put every knob in the FitOptions"),
        (lambda p: p.fit(options=activerm.FitOptions(), warm_start=True), "options", "warm_start="),
        (lambda p: p.fit(options=activerm.FitOptions), "options", "must be an activerm.FitOptions, got type"),
    ],
)
def test_params_and_options_do_not_mix_with_their_keywords(fake, fake_project, call, field, text):
    sent = len(fake.requests)
    with pytest.raises(activerm.InvalidInputError) as e:
        call(fake_project)
    assert [v.field for v in e.value.field_violations] == [field]
    assert text in e.value.message
    assert len(fake.requests) == sent, "nothing may reach the server"


def test_keywords_at_their_defaults_go_with_params_and_options(fake, fake_project):
    fake_project.select_batch(2, params=activerm.StrategyParams(ridge=0.5), ridge=None)
    assert fake.requests[-1][1].params.ridge == 0.5
    fake_project.fit(options=activerm.FitOptions(seed=7), seed=0, warm_start=False, epochs=None)
    assert fake.requests[-1][1].seed == 7


def test_aio_params_and_options(fake):
    async def run():
        async with activerm.aio.Client(fake.target, timeout=20) as client:
            project = await client.get_project("fake")
            await project.fit(options=activerm.FitOptions(seed=5, epochs=2))
            fit = fake.requests[-1][1]
            await project.select_batch(2, params=activerm.StrategyParams(coreset_clusters=3))
            select = fake.requests[-1][1]
            with pytest.raises(activerm.InvalidInputError):
                await project.fit(options=activerm.FitOptions(), seed=1)
            return fit, select

    fit, select = asyncio.run(run())
    assert (fit.seed, fit.mlp.epochs) == (5, 2)
    assert select.params == pb.StrategyParams(coreset_clusters=3)
