"""Run every benchmark (or those named): ``python benchmarks/run.py [NAME ...] [--small]``.

Each ``bench_*.py`` module beside this file exposes ``main(small: bool) -> None``.
``--small`` shrinks the data 100x for a quick smoke run.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {names}")
    parser.add_argument("--small", action="store_true", help="100x less data, for a smoke run")
    args = parser.parse_args()
    unknown = set(args.names) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {names}")
    sys.path.insert(0, str(HERE))
    for name in args.names or names:
        importlib.import_module(f"bench_{name}").main(small=args.small)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
