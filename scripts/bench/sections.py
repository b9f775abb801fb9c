"""docs/BENCHMARKS.md is written by several scripts: each owns one marked section.  [pure+file]

A section sits between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``; writing it
replaces only that span (or appends it), so ``bench_parse.py`` and ``bench_e2e.py`` can run
in any order without erasing each other's results.
"""

from __future__ import annotations

from pathlib import Path

LEGACY = "parse"  # the section a file without markers is: bench_parse.py wrote it whole


def replace_section(document: str, name: str, body: str) -> str:
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}\n"
    start = document.find(begin)
    stop = document.find(end)
    if start >= 0 and stop > start:
        return document[:start] + block + document[stop + len(end) :].lstrip("\n")
    if not document.strip():
        return block
    return document.rstrip("\n") + "\n\n" + block


def write_section(path: Path, name: str, body: str) -> None:
    old = path.read_text() if path.exists() else ""
    if old.strip() and "<!-- begin " not in old:
        old = replace_section("", LEGACY, old)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(old, name, body))
