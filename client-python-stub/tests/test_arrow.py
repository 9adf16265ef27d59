"""project.add_responses from a pyarrow Table or a Hugging Face datasets.Dataset: the rows that
come back are the table's, the float32 embedding buffers are sent without a copy, and bad
columns are refused before anything is sent."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import activerm
from activerm import _framing
from activerm.integrations import arrow
from activerm.v1 import activerm_pb2 as pb
from conftest import DIM, violations


def table(n: int, dim: int = DIM, seed: int = 0, offset: int = 0) -> tuple[pa.Table, np.ndarray]:
    x = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), pa.float32()), dim)
    t = pa.table({"id": [f"r{offset + i}" for i in range(n)], "prompt_id": [f"p{(offset + i) // 3}" for i in range(n)],
                  "embedding": emb})
    return t, x


def test_table_round_trips(project):
    t, x = table(10)
    result = project.add_responses(t)
    assert (result.num_added, result.num_responses) == (10, 10)
    back = project.list_responses(include_embeddings=True)
    assert back.ids == t.column("id").to_pylist() and back.prompt_ids == t.column("prompt_id").to_pylist()
    assert back.embeddings.tobytes() == x.tobytes()


def test_float32_embeddings_are_views_of_the_arrow_buffers():
    t, _ = table(7)
    _, _, blocks = arrow.columns(t, "id", "prompt_id", "embedding", DIM)
    values = t.column("embedding").chunk(0).values
    buffer = np.frombuffer(values.buffers()[1], dtype=np.float32)
    assert len(blocks) == 1 and blocks[0].shape == (7, DIM)
    assert np.shares_memory(blocks[0], buffer)


def test_chunked_and_sliced_tables_send_every_chunk_in_order(project):
    t1, x1 = table(5, seed=1)
    t2, x2 = table(9, seed=2, offset=5)
    t = pa.concat_tables([t1, t2.slice(2, 6)])  # the second chunk is a slice: an offset into its buffers
    assert t.column("embedding").num_chunks == 2
    project.add_responses(t, chunk_bytes=100)  # several requests per chunk
    back = project.list_responses(include_embeddings=True)
    assert back.ids == [f"r{i}" for i in range(5)] + [f"r{i}" for i in range(7, 13)]
    assert back.embeddings.tobytes() == np.concatenate([x1, x2[2:8]]).tobytes()


def test_blocks_frame_exactly_as_protobuf_serializes():
    rng = np.random.default_rng(3)
    blocks = [rng.standard_normal((k, 5)).astype("<f4") for k in (3, 0, 7)]
    ids = [f"id{i}" for i in range(10)]
    prompts = [f"q{i % 2}" for i in range(10)]
    x = np.concatenate(blocks)
    start = 0
    for k, (encoded, rows) in enumerate(_framing.add_responses_chunks("proj", ids, prompts, blocks, 2 * (20 + 64))):
        expected = pb.AddResponsesRequest(
            project_id="proj" if k == 0 else "", response_ids=ids[start:start + rows],
            prompt_ids=prompts[start:start + rows],
            embeddings=pb.Matrix(rows=rows, cols=5, data=x[start:start + rows].tobytes()))
        assert encoded == expected.SerializeToString()
        start += rows
    assert start == 10


def test_dataset_round_trips_with_its_row_selection(project):
    datasets = pytest.importorskip("datasets")
    x = np.random.default_rng(4).standard_normal((12, DIM), dtype=np.float32)
    features = datasets.Features({"rid": datasets.Value("string"), "prompt": datasets.Value("string"),
                                  "vec": datasets.Sequence(datasets.Value("float32"), length=DIM)})
    ds = datasets.Dataset.from_dict({"rid": [f"d{i}" for i in range(12)], "prompt": [f"p{i % 4}" for i in range(12)],
                                     "vec": list(x)}, features=features)
    picked = ds.select([11, 3, 7, 0])  # an indices mapping over the same Arrow table
    project.add_responses(picked, id_column="rid", prompt_id_column="prompt", embedding_column="vec", progress=True)
    back = project.list_responses(include_embeddings=True)
    assert back.ids == ["d11", "d3", "d7", "d0"]
    assert back.prompt_ids == ["p3", "p3", "p3", "p0"]
    assert back.embeddings.tobytes() == x[[11, 3, 7, 0]].tobytes()


def test_variable_length_float64_lists_are_accepted(project):
    x = np.random.default_rng(5).standard_normal((4, DIM))
    t = pa.table({"id": ["a", "b", "c", "d"], "prompt_id": ["p"] * 4, "embedding": pa.array(list(x), pa.list_(pa.float64()))})
    project.add_responses(t)
    back = project.list_responses(include_embeddings=True)
    assert back.embeddings.tobytes() == x.astype(np.float32).tobytes()


@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda t: t.drop_columns(["embedding"]), "embedding_column", "not a column of the table"),
    (lambda t: t.set_column(0, "id", pa.array([1, 2, 3], pa.int64())), "id", "ids must be strings"),
    (lambda t: t.set_column(1, "prompt_id", pa.array(["p", None, "p"])), "prompt_id", "1 nulls"),
    (lambda t: t.set_column(2, "embedding", pa.array([[0.0] * DIM, [0.0] * (DIM - 1), [0.0] * DIM],
                                                     pa.list_(pa.float32()))), "embedding", "row 1 of a chunk has 7"),
    (lambda t: t.set_column(2, "embedding", pa.array([[0.0] * DIM, None, [0.0] * DIM],
                                                     pa.list_(pa.float32(), DIM))), "embedding", "1 null rows"),
    (lambda t: t.set_column(2, "embedding", pa.array([[1] * DIM] * 3, pa.list_(pa.int32(), DIM))),
     "embedding", "holds int32 values"),
    (lambda t: t.set_column(2, "embedding", pa.array([[0.0] * 4] * 3, pa.list_(pa.float32(), 4))),
     "embedding", "4 values per row"),
])
def test_bad_columns_are_refused_before_sending(offline_project, change, field, says):
    t, _ = table(3)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.add_responses(change(t))
    assert says in violations(e.value)[field], violations(e.value)


def test_nan_in_a_table_is_refused(offline_project):
    t, x = table(3)
    x[1, 2] = np.nan
    t = t.set_column(2, "embedding", pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), DIM))
    with pytest.raises(activerm.InvalidInputError, match="must be finite"):
        offline_project.add_responses(t)


def test_a_table_with_prompt_ids_or_embeddings_is_refused(offline_project):
    t, x = table(3)
    with pytest.raises(activerm.InvalidInputError, match="must be left out when the first argument is a table"):
        offline_project.add_responses(t, ["p"] * 3, x)
    with pytest.raises(activerm.InvalidInputError, match="embeddings must be a numpy array"):
        offline_project.add_responses(["a"], ["p"])


def test_the_asyncio_client_takes_a_table_too(server):
    import asyncio

    import activerm.aio
    from conftest import unique_id

    t, x = table(6)

    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio-arrow"), embedding_dim=DIM)
            try:
                await project.add_responses(t)
                return await project.list_responses(include_embeddings=True)
            finally:
                await project.delete()

    back = asyncio.run(go())
    assert back.ids == t.column("id").to_pylist() and back.embeddings.tobytes() == x.tobytes()
