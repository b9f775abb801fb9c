#!/usr/bin/env python3
"""Regenerate the MEXC protobuf modules in ``actors/venues/mexc/_pb/`` from ``proto/mexc/``.

The compiler is pinned: protoc comes from ``grpcio-tools==GRPCIO_TOOLS`` installed into a
throwaway virtualenv under a temporary directory, so the project environment is never touched
and every run emits the same code.  protoc writes bare ``import X_pb2`` for cross-file imports
(the .proto files have no package, like upstream); those lines are rewritten to package-relative
``from . import X_pb2`` so the generated modules import as one package.

    python scripts/gen_proto.py            # regenerate in place
    python scripts/gen_proto.py --check    # exit 1 if the committed modules are out of date
    python scripts/gen_proto.py --python /path/to/python   # reuse an env that already has
                                           # grpcio-tools==GRPCIO_TOOLS (e.g. offline)

The generated modules carry protobuf's runtime version check: they need a ``protobuf`` runtime
at least as new as the gencode version printed in their header ("Protobuf Python Version").
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

GRPCIO_TOOLS = "1.85.1"  # bundles libprotoc 35.1 -> gencode 7.35.1
ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "proto" / "mexc"
OUT_DIR = ROOT / "actors" / "venues" / "mexc" / "_pb"

INIT = '''"""Generated MEXC spot v3 protobuf modules.  Do not edit: run scripts/gen_proto.py.

Built from proto/mexc/*.proto (field numbers of mexcdevelop/websocket-proto@7b8ac7a6) with
grpcio-tools=={version}.
"""
'''

# protoc emits `import Foo_pb2 as Foo__pb2` (.py) and `import Foo_pb2 as _Foo_pb2` (.pyi).
_BARE_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)


def protoc_python(tmp: Path) -> Path:
    """A fresh virtualenv with the pinned grpcio-tools; returns its interpreter."""
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"grpcio-tools=={GRPCIO_TOOLS}"], check=True)
    return python


def check_pinned(python: Path) -> None:
    code = "import importlib.metadata as m; print(m.version('grpcio-tools'))"
    found = subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    if found != GRPCIO_TOOLS:
        sys.exit(f"{python} has grpcio-tools {found}, this script is pinned to {GRPCIO_TOOLS}")


def generate(python: Path, out: Path) -> None:
    protos = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    if not protos:
        sys.exit(f"no .proto files in {PROTO_DIR}")
    cmd = [str(python), "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}"]
    cmd += [f"--python_out={out}", f"--pyi_out={out}", *protos]
    subprocess.run(cmd, check=True, cwd=PROTO_DIR)
    for path in sorted(out.glob("*_pb2.py*")):
        path.write_text(_BARE_IMPORT.sub(r"from . import \1 as \2", path.read_text()))
    (out / "__init__.py").write_text(INIT.format(version=GRPCIO_TOOLS))


def differences(new: Path, old: Path) -> list[str]:
    names = {p.name for p in new.iterdir()} | {p.name for p in old.glob("*.py*")}
    return sorted(
        n
        for n in names
        if not (new / n).is_file()
        or not (old / n).is_file()
        or (new / n).read_bytes() != (old / n).read_bytes()
    )


def install(new: Path) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in OUT_DIR.glob("*.py*"):
        stale.unlink()
    for path in sorted(new.iterdir()):
        shutil.copy2(path, OUT_DIR / path.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--python", type=Path, help="interpreter that has the pinned tools")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gen_proto_") as tmp_name:
        tmp = Path(tmp_name)
        python = args.python or protoc_python(tmp)
        check_pinned(python)
        out = tmp / "out"
        out.mkdir()
        generate(python, out)
        if args.check:
            stale = differences(out, OUT_DIR)
            if stale:
                print("out of date: " + ", ".join(stale), file=sys.stderr)
                return 1
            print(f"{OUT_DIR.relative_to(ROOT)} is up to date")
            return 0
        install(out)
    print(f"generated {OUT_DIR.relative_to(ROOT)} with grpcio-tools=={GRPCIO_TOOLS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
