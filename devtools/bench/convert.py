"""The gateway's converter alone: CPU per reading, SenML packs against compact readings.

``homeloop bench convert`` times :func:`device_gateway.payloads.convert` on the payloads the
ingest bench publishes (``devtools.bench.ingest``: SenML packs of 10 records, and the compact
one-reading messages), in CPU time of this process, no broker and no database. The peer in
the same run is the compact reading; with ``--against <git revision>`` the same payloads are
also timed with that revision's converter, rounds alternating between the two trees so that
whatever else loads the machine falls on both. Each tree is timed in a child process of its
own (its modules imported fresh); a round's figure is the best of a few repetitions, and the
median of the rounds is printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from homeloop.settings import PROJECT_ROOT

# What the converter imports; enough of a tree to time an older revision's converter.
TREE = ("device_gateway", "catalog", "homeloop")
DEVICE = "bench-000001"
PAYLOADS = 1000


def _payloads() -> dict[str, list[bytes]]:
    from devtools.bench.ingest import CompactLines, Device, SenmlLines

    packs = SenmlLines([Device(DEVICE, "")])(0, PAYLOADS).splitlines()
    compact = CompactLines(1)(0, PAYLOADS).splitlines()
    return {"packs": packs, "compact": compact}


def _time_once(payloads: list[bytes], readings: int, repeat: int) -> float:
    """Best CPU microseconds per reading over ``repeat`` passes."""
    from device_gateway.payloads import Limits, convert

    limits, topic = Limits(), f"tags/{DEVICE}/readings"
    now_ms = int(time.time() * 1000)
    for payload in payloads[:10]:  # caches, imports
        convert(topic, payload, now_ms, limits)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for payload in payloads:
            convert(topic, payload, now_ms, limits)
        best = min(best, time.process_time() - started)
    return best / readings * 1e6


def child(repeat: int, payloads: str) -> None:
    """Run in a child: print the figures of the converter on ``sys.path`` as JSON. The
    payloads come from the parent (a file of JSON lists), so that the child imports only the
    converter of its tree."""
    sets = {k: [line.encode() for line in v]
            for k, v in json.loads(Path(payloads).read_text()).items()}
    print(json.dumps({"packs": _time_once(sets["packs"], 10 * len(sets["packs"]), repeat),
                      "compact": _time_once(sets["compact"], len(sets["compact"]), repeat)}))


def _run_child(tree: Path, repeat: int, payloads: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(PROJECT_ROOT)])}
    # -P: not the current folder first on the path, the tree's converter
    done = subprocess.run([sys.executable, "-P", "-c",
                           "from devtools.bench.convert import child; "
                           f"child({repeat}, {str(payloads)!r})"],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"timing the converter of {tree} failed:\n{done.stderr[-2000:]}")
    out = done.stdout
    return {k: float(v) for k, v in json.loads(out.splitlines()[-1]).items()}


def _old_tree(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", "--format=tar",
                              revision, *TREE], check=True, capture_output=True).stdout
    tar = into / "tree.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into / "tree", filter="data")
    return into / "tree"


def run_convert_bench(*, against: str | None, rounds: int, repeat: int,
                      say: Callable[[str], None]) -> None:
    say(f"convert bench: device_gateway.payloads.convert on the ingest bench's payloads "
        f"({PAYLOADS} SenML packs of 10 records, {PAYLOADS} compact readings), CPU time of "
        f"one process, best of {repeat} passes per round, median of {rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="homeloop-convert-") as tmp:
        payloads = Path(tmp) / "payloads.json"
        payloads.write_text(json.dumps({k: [p.decode() for p in v]
                                        for k, v in _payloads().items()}))
        trees = {"this tree": PROJECT_ROOT}
        if against:
            trees[against] = _old_tree(against, Path(tmp))
        figures: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(rounds):
            for name, tree in trees.items():
                figures[name].append(_run_child(tree, repeat, payloads))
    for name, runs in figures.items():
        packs = statistics.median(r["packs"] for r in runs)
        compact = statistics.median(r["compact"] for r in runs)
        say(f"{name:>12}: SenML pack {packs:.2f} µs per reading (rounds "
            f"{min(r['packs'] for r in runs):.2f}-{max(r['packs'] for r in runs):.2f}); "
            f"compact {compact:.2f} µs per reading; pack/compact {packs / compact:.2f}")
    if against:
        ours = statistics.median(r["packs"] for r in figures["this tree"])
        old = statistics.median(r["packs"] for r in figures[against])
        say(f"convert: packs {ours:.2f} us/reading, {against} {old:.2f} us/reading, "
            f"ratio {ours / old:.2f}")
