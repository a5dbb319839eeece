"""Benchmark of the 1:N face search alone (tools/face_match.py), on synthetic embeddings.

    python3 addons/canteen_face/bench_face_search.py [--faces 10000 100000] [--queries 2000]
        [--threads 1]

For each gallery size: builds the normalised float32 matrix of random 128-d embeddings, then
identifies queries that are noisy copies of enrolled faces (at about the distance of another
photo of the same person, 0.3) and random strangers, and prints build time, memory and the
search latency (p50, p95, p99) with the share of correct answers. A script, not a test.
BLAS threads default to 1 (the bridge's identification runs on one core per process).
"""

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path


def _load_face_match():
    # Loaded by path: the benchmark needs numpy only, not Odoo.
    path = Path(__file__).resolve().parent / "tools" / "face_match.py"
    spec = importlib.util.spec_from_file_location("face_match", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _near(numpy, row, distance, rng):
    noise = rng.normal(size=row.shape[0])
    noise -= noise.dot(row) * row
    noise /= numpy.linalg.norm(noise)
    angle = 2 * numpy.arcsin(distance / 2)
    return (numpy.cos(angle) * row + numpy.sin(angle) * noise).astype(numpy.float32)


def bench(numpy, face_match, faces, *, queries, threshold, margin):
    rng = numpy.random.default_rng(faces)
    started = time.perf_counter()
    matrix = face_match.build_matrix(rng.normal(size=(faces, 128)).astype(numpy.float32))
    build = time.perf_counter() - started
    rows = rng.integers(0, faces, queries)
    probes = [(int(row), _near(numpy, matrix[row].astype(numpy.float64), 0.3, rng)) for row in rows]
    strangers = [(None, rng.normal(size=128).astype(numpy.float32)) for _ in range(queries // 4)]
    for _row, query in probes[:20]:  # warm caches
        face_match.identify(matrix, query, threshold, margin)
    latencies, right = [], 0
    for expected, query in probes + strangers:
        started = time.perf_counter()
        found = face_match.identify(matrix, query, threshold, margin)
        latencies.append((time.perf_counter() - started) * 1000)
        right += found.index == expected
    total = len(probes) + len(strangers)
    sys.stdout.write(
        f"{faces:>9,} faces  matrix {matrix.nbytes / 2**20:6.1f} MiB built in {build * 1000:7.1f} ms  "
        f"search p50 {_percentile(latencies, 0.5):6.2f} ms  p95 {_percentile(latencies, 0.95):6.2f} ms  "
        f"p99 {_percentile(latencies, 0.99):6.2f} ms  correct {right}/{total}\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--threshold", type=float, default=0.4)
    parser.add_argument("--margin", type=float, default=0.05)
    args = parser.parse_args(argv)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    # Imported after the thread settings, which numpy's BLAS reads when it loads.
    import numpy

    face_match = _load_face_match()
    sys.stdout.write(
        f"numpy {numpy.__version__}, {args.threads} BLAS thread(s), {args.queries} queries per size\n"
    )
    for faces in args.faces:
        bench(numpy, face_match, faces, queries=args.queries, threshold=args.threshold, margin=args.margin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
