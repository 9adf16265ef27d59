#!/usr/bin/env python3
"""Regenerates the committed protobuf/gRPC stubs and their .pyi types.

    python scripts/generate_stubs.py            # writes src/activerm/v1/
    python scripts/generate_stubs.py --out DIR  # writes DIR/activerm/v1/ (the staleness test uses this)

The generator versions are pinned (GENERATOR_PINS below, and the `test` extra in
pyproject.toml): the gencode they emit declares the protobuf runtime it needs
("Protobuf Python Version" in activerm_pb2.py) and the grpcio it needs
(GRPC_GENERATED_VERSION in activerm_pb2_grpc.py); pyproject.toml's runtime
dependencies must stay at or above those. Change the pins in both places together.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
from importlib import metadata

GENERATOR_PINS = {"grpcio-tools": "1.85.1", "mypy-protobuf": "5.1.0"}

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = PACKAGE_ROOT.parent / "proto" / "src" / "main" / "proto"
PROTO_FILES = ["activerm/v1/activerm.proto"]
DEFAULT_OUT = PACKAGE_ROOT / "src"

# Written next to the generated modules so `activerm.v1` is a regular package.
INIT_TEXT = '"""Generated activerm.v1 protobuf messages and gRPC stubs (scripts/generate_stubs.py; do not edit)."""\n'


def check_pins() -> None:
    wrong = []
    for name, want in GENERATOR_PINS.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            wrong.append(f"{name}=={want} (found {have})")
    if wrong:
        raise SystemExit(
            "generate_stubs.py needs the pinned generators: pip install "
            + " ".join(w.split(" ")[0] for w in wrong)
            + "\n  mismatched: " + ", ".join(wrong)
        )


def generate(out: pathlib.Path) -> list[pathlib.Path]:
    """Runs protoc (from grpcio-tools) with the python, grpc and mypy plugins; returns the files written."""
    check_pins()
    from grpc_tools import protoc  # imported late: only the generator needs it

    import grpc_tools

    bin_dir = pathlib.Path(sys.executable).parent
    plugins = {}
    for plugin in ("protoc-gen-mypy", "protoc-gen-mypy_grpc"):
        path = bin_dir / plugin
        if not path.exists():
            raise SystemExit(f"{plugin} not found next to {sys.executable}; install mypy-protobuf in this environment")
        plugins[plugin] = path
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={plugins['protoc-gen-mypy']}",
        f"--plugin=protoc-gen-mypy_grpc={plugins['protoc-gen-mypy_grpc']}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        *PROTO_FILES,
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}: {' '.join(args)}")
    package_dir = out / "activerm" / "v1"
    (package_dir / "__init__.py").write_text(INIT_TEXT)
    return sorted(p for p in package_dir.iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                        help="root to write activerm/v1/ under (default: src/)")
    args = parser.parse_args()
    for path in generate(args.out):
        print(os.path.relpath(path))


if __name__ == "__main__":
    main()
