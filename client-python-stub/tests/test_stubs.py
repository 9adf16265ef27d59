"""The committed generated stubs are what the pinned generator makes from proto/ today,
and the declared runtime dependencies satisfy what that gencode requires."""
from __future__ import annotations

import filecmp
import importlib.util
import pathlib
import re

import grpc
import google.protobuf

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent
COMMITTED = PACKAGE_ROOT / "src" / "activerm" / "v1"


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_stubs", PACKAGE_ROOT / "scripts" / "generate_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_are_not_stale(tmp_path):
    written = _load_generator().generate(tmp_path)
    fresh = tmp_path / "activerm" / "v1"
    fresh_names = sorted(p.name for p in written)
    committed_names = sorted(p.name for p in COMMITTED.iterdir() if p.is_file())
    assert committed_names == fresh_names, "generated file set changed; run scripts/generate_stubs.py"
    _, mismatch, errors = filecmp.cmpfiles(COMMITTED, fresh, fresh_names, shallow=False)
    assert not mismatch and not errors, (
        f"stale generated stubs {mismatch + errors}: the proto changed; run "
        "`python scripts/generate_stubs.py` in client-python-stub/ and commit the result")


def _lower_bound(pyproject: str, dist: str) -> str:
    match = re.search(rf'"{re.escape(dist)}>=([0-9.]+)', pyproject)
    assert match, f"pyproject.toml declares no lower bound for {dist}"
    return match.group(1)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def test_declared_runtime_bounds_match_the_gencode():
    pyproject = (PACKAGE_ROOT / "pyproject.toml").read_text()
    pb2 = (COMMITTED / "activerm_pb2.py").read_text()
    pb2_grpc = (COMMITTED / "activerm_pb2_grpc.py").read_text()
    gencode_protobuf = re.search(r"# Protobuf Python Version: ([0-9.]+)", pb2).group(1)
    gencode_grpc = re.search(r"GRPC_GENERATED_VERSION = '([0-9.]+)'", pb2_grpc).group(1)

    assert _lower_bound(pyproject, "protobuf") == gencode_protobuf
    major = gencode_protobuf.split(".")[0]
    assert f'"protobuf>={gencode_protobuf},<{int(major) + 1}"' in pyproject, "protobuf gencode needs the same major"
    assert _lower_bound(pyproject, "grpcio") == gencode_grpc
    # And what is installed here satisfies them.
    assert _version_tuple(google.protobuf.__version__) >= _version_tuple(gencode_protobuf)
    assert google.protobuf.__version__.split(".")[0] == major
    assert _version_tuple(grpc.__version__) >= _version_tuple(gencode_grpc)
