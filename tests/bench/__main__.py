"""Run every `bench_*.py` module here (or those named on the command line) and print figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import tests.bench as package


def main(names: list[str]) -> int:
    modules = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    chosen = [m for m in modules if m.startswith("bench_") and (not names or m in names)]
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"tests.bench.{name}").main()
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
