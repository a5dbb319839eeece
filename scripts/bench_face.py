#!/usr/bin/env python3
"""Benchmark of face enrolment and identification (canteen_face and the bridge).

1. **search**: the 1:N search alone (`canteen_face/tools/face_match.Gallery`, as the bridge
   keeps it) at 10,000 and 100,000 synthetic faces: random unit 128-d embeddings, queried with
   noisy copies of enrolled faces (at 0.3, about the distance of another photo of the same
   person) and with strangers; p50/p95/p99 and the share of right answers; above 20,000 faces
   the same queries then searched again, each coarse search followed by an exhaustive one (the
   search before the coarse pass): the answers compared, and both timed in the same conditions;
2. **engine**: a 640×480 photo (obama2.jpg of the shared test photos, cropped and scaled)
   through the face engine (decoding, detection, 5 landmarks, ResNet embedding) and the search
   among 10,000 faces, p50/p95, and the same with the first detection pass at full size (as
   before it ran at 320 px), alternating;
3. **import** (with a database): the shared test photos copied under the employee numbers of
   `--photos` cardholders and enrolled with `odoo canteen-face-import` (a process of its own,
   as an operator runs it), once per `--import-workers` value: photos per second;
4. **bridge** (with a database): `POST /api/v1/faces/identify` of the 640×480 photo against a
   real bridge process, end to end (HTTP, signature, engine, search, the face's check in
   PostgreSQL), p50/p95, and a charge by `face_image`.

    python3 scripts/bench_face.py [--faces 10000 100000] [--queries 2000] [--photos 100]
        [--requests 40] [--import-workers 2 0] [--no-db | --search-only]

Each figure comes with the load average (1 minute) before and after it: the machine may be
shared.

A script, not a test: it prints its figures as JSON at the end. BLAS runs on one thread (the
bridge sets the same). The database part uses the private durable cluster of the dev scripts
and drops its database afterwards.
"""

import argparse
import base64
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads

import numpy

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "testdata" / "faces"
ENROLABLE = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "biden2.jpg")
DBNAME = "canteen_bench_face"


def face_tool(name):
    """A module of canteen_face/tools, imported without Odoo: the folder as a package of its
    own (its __init__, which imports Odoo, is not run)."""
    import importlib
    import types

    if "face_tools" not in sys.modules:
        package = types.ModuleType("face_tools")
        package.__path__ = [str(ROOT / "addons" / "canteen_face" / "tools")]
        sys.modules["face_tools"] = package
    return importlib.import_module(f"face_tools.{name}")


def face_match():
    return face_tool("face_match")


def percentiles(values):
    ordered = sorted(values)

    def at(share):
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {"min": round(ordered[0], 3), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


def load_average():
    return round(os.getloadavg()[0], 2)


def near(row, distance, rng):
    """A unit vector at `distance` from the unit vector `row`."""
    row = row.astype(numpy.float64)
    noise = rng.normal(size=row.shape[0])
    noise -= noise.dot(row) * row
    noise /= numpy.linalg.norm(noise)
    angle = 2 * numpy.arcsin(distance / 2)
    return (numpy.cos(angle) * row + numpy.sin(angle) * noise).astype(numpy.float32)


def synthetic_gallery(matcher, faces, seed=1):
    rng = numpy.random.default_rng(seed)
    vectors = rng.normal(size=(faces, 128)).astype(numpy.float32)
    gallery = matcher.Gallery()
    started = time.perf_counter()
    gallery.load(numpy.arange(faces) + 1, numpy.arange(faces) + 1, vectors)
    return gallery, matcher.build_matrix(vectors), time.perf_counter() - started


def bench_search(matcher, faces, queries):
    rng = numpy.random.default_rng(faces)
    gallery, matrix, load_seconds = synthetic_gallery(matcher, faces)
    rows = rng.integers(0, faces, queries)
    probes = [(int(row) + 1, near(matrix[row], 0.3, rng)) for row in rows]
    probes += [(None, rng.normal(size=128).astype(numpy.float32)) for _n in range(queries // 4)]
    for _face, query in probes[:50]:  # warm the caches
        gallery.identify(query, 0.5, 0.05)
    load_before = load_average()
    # Searches one after the other, as the bridge runs them: the gallery stays in the cache.
    latencies, answers, right = [], [], 0
    for expected, query in probes:
        started = time.perf_counter()
        answer = gallery.identify(query, 0.5, 0.05)
        latencies.append((time.perf_counter() - started) * 1000)
        answers.append(answer)
        right += answer[0] == expected
    result = {
        "faces": faces,
        "matrix_mib": round(faces * 128 * 4 / 2**20, 1),
        "coarse": gallery.coarse,
        "load_ms": round(load_seconds * 1000, 1),
        "search_ms": percentiles(latencies),
        "right": f"{right}/{len(probes)}",
        "load_average": [load_before, load_average()],
    }
    if gallery.coarse:
        # The same queries again, each coarse search followed by an exhaustive one (the search
        # before the coarse pass), to compare answers and times in the same conditions: the
        # exhaustive search reads the whole matrix and evicts the coarse copy from the cache, so
        # these coarse times are cold-cache ones.
        load_before = load_average()
        cold, exhaustive, same = [], [], 0
        for (_expected, query), (face_id, _person, match) in zip(probes, answers, strict=True):
            started = time.perf_counter()
            gallery.identify(query, 0.5, 0.05)
            cold.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            exact = gallery.identify(query, 0.5, 0.05, exhaustive=True)
            exhaustive.append((time.perf_counter() - started) * 1000)
            same += exact[0] == face_id and exact[2].reason == match.reason
        result["alternating"] = {
            "search_ms": percentiles(cold),
            "exhaustive_ms": percentiles(exhaustive),
            "load_average": [load_before, load_average()],
        }
        result["same_answer_as_exhaustive"] = f"{same}/{len(probes)}"
    return result


def photo_640x480():
    """obama2.jpg (626×1200, the face at 159,294-462,596) cropped to 4:3 around the face and
    scaled to 640×480, as a terminal's camera frames a diner; JPEG bytes."""
    from PIL import Image

    image = Image.open(PHOTOS / "obama2.jpg").convert("RGB")
    width = image.size[0]
    top = max(0, 445 - width * 3 // 8)
    image = image.crop((0, top, width, top + width * 3 // 4)).resize((640, 480))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def bench_engine(matcher, requests):
    engine = face_tool("face_engine")
    started = time.perf_counter()
    engine.warm_up()
    warm_up = time.perf_counter() - started
    data = photo_640x480()
    gallery, _matrix, _seconds = synthetic_gallery(matcher, 10_000)
    enrolled = engine.analyse((PHOTOS / "obama.jpg").read_bytes())
    gallery.upsert(10**9, 10**9, enrolled.embedding)
    full_size = dataclasses.replace(engine.IDENTIFICATION, detect_side=engine.WORK_SIDE)
    load_before = load_average()
    latencies, full_size_latencies, found = [], [], None
    for _n in range(requests):
        started = time.perf_counter()
        analysis = engine.analyse(data, engine.IDENTIFICATION)
        found = gallery.identify(analysis.embedding, 0.5, 0.05)
        latencies.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        analysis = engine.analyse(data, full_size)
        gallery.identify(analysis.embedding, 0.5, 0.05)
        full_size_latencies.append((time.perf_counter() - started) * 1000)
    return {
        "models_load_s": round(warm_up, 2),
        "photo_bytes": len(data),
        "identify_ms": percentiles(latencies),
        "identify_detecting_at_full_size_ms": percentiles(full_size_latencies),
        "matched": found[0] == 10**9,
        "distance": round(found[2].distance, 3),
        "load_average": [load_before, load_average()],
    }


# ---------------------------------------------------------------------------------------------
# with a database
# ---------------------------------------------------------------------------------------------
def bench_database(args, engine_photo):
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT / "tests"))
    import devstack

    devstack.ensure_odoo()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    os.environ.update(
        CANTEEN_DB_HOST=db["host"],
        CANTEEN_DB_PORT=str(db["port"]),
        CANTEEN_DB_USER=db["user"],
        CANTEEN_DB_PASSWORD=db["password"],
    )
    from bridge_harness import BridgeProcess, load_simulator

    simulator = load_simulator()
    devstack.install_database(db, DBNAME, "canteen_pos_bridge,canteen_face")
    env = simulator.odoo_env(DBNAME, devstack.db_options(db))
    try:
        site = simulator.provision(env, terminals=1, cardholders=args.photos, meal_periods=[("lunch", 0, 24)])
        results = {"import": [bench_import(db, devstack, site, workers) for workers in args.import_workers]}
        bridge = BridgeProcess(DBNAME).start()
        try:
            results["bridge"] = bench_bridge(bridge, site, engine_photo, args.requests)
        finally:
            bridge.stop()
    finally:
        env.cr.close()
        devstack.drop_database(db, DBNAME)
    return results


def bench_import(db, devstack, site, workers):
    folder = Path(tempfile.mkdtemp(prefix="bench-face-"))
    try:
        for number, holder in enumerate(site["cardholders"]):
            shutil.copyfile(
                PHOTOS / ENROLABLE[number % len(ENROLABLE)], folder / f"{holder['employee_no']}.jpg"
            )
        command = [
            sys.executable,
            "-m",
            "odoo",
            f"--addons-path={ROOT / 'addons'}",
            "canteen-face-import",
            "-c",
            str(ROOT / "odoo.conf"),
            "-d",
            DBNAME,
            str(folder),
            "--workers",
            str(workers),
            *devstack.db_options(db),
        ]
        load_before = load_average()
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(folder)
    photos = len(site["cardholders"])
    return {
        "workers": workers,
        "load_average": [load_before, load_average()],
        "photos": photos,
        "seconds": round(seconds, 1),
        "photos_per_s": round(photos / seconds, 2),
        # The command's own count, from its first photo (without Odoo's start and the models').
        "photos_per_s_enrolling": _enrolling_rate(done.stdout, photos),
        "exit": done.returncode,
        "summary": done.stdout.strip().splitlines()[-1:] if done.stdout else done.stderr[-300:],
    }


def _enrolling_rate(stdout, photos):
    found = re.search(r"in ([0-9.]+) s$", (stdout or "").strip())
    return round(photos / float(found.group(1)), 2) if found and float(found.group(1)) else None


def bench_bridge(bridge, site, photo, requests):
    client = bridge.client(site["terminals"][0])
    image = base64.b64encode(photo).decode()
    latencies, answer = [], None
    load_before = load_average()
    for _n in range(requests):
        started = time.perf_counter()
        status, answer = client.request("POST", "/api/v1/faces/identify", {"image": image})
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            return {"error": answer}
    status, charge = client.charge({"type": "face_image", "value": image}, "1.00")
    return {
        "requests": requests,
        "identify_ms": percentiles(latencies),
        "load_average": [load_before, load_average()],
        "answer": answer,
        "charge_by_face_image": {
            "status": status,
            "charge": charge.get("status"),
            "reason": charge.get("reason"),
        },
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=100, help="photos enrolled by the import command")
    parser.add_argument("--requests", type=int, default=40, help="identifications of the 640×480 photo")
    parser.add_argument(
        "--import-workers",
        type=int,
        nargs="+",
        default=[2, 0],
        help="runs of the import command, with these --workers",
    )
    parser.add_argument("--no-db", action="store_true", help="search and engine only")
    parser.add_argument(
        "--search-only", action="store_true", help="the search alone (no engine, no database)"
    )
    args = parser.parse_args()
    matcher = face_match()
    matcher.single_thread_blas()
    results = {"numpy": numpy.__version__, "cpus": os.cpu_count(), "search": []}
    for faces in args.faces:
        results["search"].append(bench_search(matcher, faces, args.queries))
        print(json.dumps(results["search"][-1]), file=sys.stderr, flush=True)
    if args.search_only:
        print(json.dumps(results, indent=1, ensure_ascii=False))
        return
    results["engine"] = bench_engine(matcher, args.requests)
    print(json.dumps(results["engine"]), file=sys.stderr, flush=True)
    if not args.no_db:
        results.update(bench_database(args, photo_640x480()))
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
