"""Face identification in a bridge process, when canteen_face is installed.

Each bridge process keeps the current faces in memory, one gallery (a float32 matrix of unit
embeddings, `canteen_face/tools/face_match.Gallery`) per company: loaded when the process
starts listening, then kept current from the `canteen_face` NOTIFY channel (sent when an
enrolment, a replacement or a withdrawal commits). A terminal's picture is searched among the
galleries of the companies whose cards it serves (its company's subtree and the companies
that accept their cards at its merchant: served_sql); the face found is checked in PostgreSQL
before it is answered, so a face withdrawn a moment ago is never matched, whatever this
process has heard.

Pictures are analysed (dlib: detection, landmarks, embedding) in a child process: dlib holds
Python's lock for the whole of a picture, which in the bridge's own process would stop every
other request for that long.

Without canteen_face (no `canteen_face` table, or dlib missing) the index stays unavailable
and the bridge answers face requests 404 `faces_unavailable`.
"""

import base64
import binascii
import concurrent.futures
import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import time

import numpy

from . import charge_engine, face_sql

_logger = logging.getLogger("canteen.bridge")

SETTINGS_SECONDS = 5  # a company's match settings are read again after this
NOTIFY_CHANNEL = "canteen_face"
# (threshold, margin) of a company without settings: canteen_face's defaults
# (face_match.DEFAULT_THRESHOLD, DEFAULT_MARGIN; that module may not import here).
DEFAULT_SETTINGS = (0.5, 0.05)
PICTURE_TIMEOUT = 30  # seconds a picture may take in the worker (model loading included)
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent ends (Linux)
# The lookup identity of a face image nobody matches: a face id no one has (see charge_sql).
NOBODY = {"type": "face", "value": "-"}


def face_tools():
    """canteen_face's (face_match, face_engine), or None when they cannot be imported."""
    try:
        from odoo.addons.canteen_face.tools import face_engine, face_match
    except ImportError as error:  # dlib or the models are missing
        _logger.warning("face identification unavailable: %s", error)
        return None
    return face_match, face_engine


def decode_image(value):
    """The bytes of a base64 picture; ValueError when it is not base64 of a few bytes."""
    if not isinstance(value, str) or not value:
        raise ValueError("image must be a base64 JPEG or PNG")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("image must be a base64 JPEG or PNG") from error
    if len(data) < 64:
        raise ValueError("image must be a base64 JPEG or PNG")
    return data


def analyse_picture(data):
    """(embedding, None) or (None, reason) of a picture: runs in the worker process."""
    from odoo.addons.canteen_face.tools import face_engine

    analysis = face_engine.analyse(data, face_engine.IDENTIFICATION)
    if analysis.reason in ("not_image", "no_face", "several_faces"):
        return None, analysis.reason
    if analysis.embedding is None:
        return None, "no_face"
    return analysis.embedding, None


def end_with_the_bridge(bridge_pid):
    """In the worker process, first: be killed when the bridge ends, however it ends. A bridge
    killed with SIGKILL cannot stop its worker, which would otherwise run on, orphaned, holding
    the models' memory (Linux's PR_SET_PDEATHSIG; elsewhere the bridge stops it on exit)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != bridge_pid:
        os._exit(0)  # the bridge ended before the line above took effect


def warm_up():
    """Load the face models in the worker process, before the first picture; numpy's matrix
    products (the embedding network) on one thread, as in the bridge."""
    from odoo.addons.canteen_face.tools import face_engine, face_match

    face_match.single_thread_blas()
    face_engine.warm_up()


def _vector(embedding):
    vector = numpy.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return vector if vector.shape == (128,) else None


class FaceIndex:
    """The current faces of a database, by company, in one bridge process (not thread-safe:
    changed and read by greenlets of one hub)."""

    def __init__(self):
        self.available = False
        self.match = self.engine = None
        self.galleries = {}  # company id -> Gallery
        self.company_of_face = {}
        self.face_of_person = {}
        self.settings = {}  # company id -> (threshold, margin, monotonic time read)
        self.worker = None  # the process that analyses pictures

    # -- loading ------------------------------------------------------------------------------
    def load(self, cr):
        """(Re)load every current face with the cursor `cr` (autocommit)."""
        cr.execute(face_sql.FACES_INSTALLED)
        if not cr.fetchone()[0]:
            self.available = False
            return
        if self.match is None:
            tools = face_tools()
            if tools is None:
                return
            self.match, self.engine = tools
            self.match.single_thread_blas()
        started = time.monotonic()
        cr.execute(face_sql.CURRENT_FACES)
        rows = {}
        for face_id, person_id, company_id, embedding in cr.fetchall():
            vector = _vector(embedding)
            if vector is not None:
                rows.setdefault(company_id, ([], [], []))
                for column, value in zip(rows[company_id], (face_id, person_id, vector), strict=True):
                    column.append(value)
        self.galleries, self.company_of_face, self.face_of_person = {}, {}, {}
        for company_id, (faces, people, vectors) in rows.items():
            gallery = self.galleries[company_id] = self.match.Gallery()
            gallery.load(faces, people, numpy.vstack(vectors))
            self.company_of_face.update(dict.fromkeys(faces, company_id))
            self.face_of_person.update(zip(people, faces, strict=True))
        self.settings = {}
        self.available = True
        _logger.info(
            "faces loaded: %s in %s companies (%.2f s)",
            len(self.company_of_face),
            len(self.galleries),
            time.monotonic() - started,
        )

    def apply(self, cr, payload):
        """Follow one NOTIFY of canteen_face: the face as it is now (current or gone)."""
        if not self.available:
            return
        try:
            face_id = int(json.loads(payload)["face_id"])
        except (ValueError, TypeError, KeyError):
            _logger.warning("canteen_face notification not understood: %r", payload)
            return
        cr.execute(face_sql.CURRENT_FACE, [face_id])
        row = cr.fetchone()
        self._forget(face_id)
        if row is None:
            return
        face_id, person_id, company_id, embedding = row
        vector = _vector(embedding)
        if vector is None:
            return
        self._forget(self.face_of_person.get(person_id))
        gallery = self.galleries.get(company_id)
        if gallery is None:
            gallery = self.galleries[company_id] = self.match.Gallery()
        gallery.upsert(face_id, person_id, vector)
        self.company_of_face[face_id] = company_id
        self.face_of_person[person_id] = face_id

    def _forget(self, face_id):
        company_id = self.company_of_face.pop(face_id, None)
        if company_id is not None:
            self.galleries[company_id].delete(face_id)
        # A person's entry may name a face forgotten since: _forget of it does nothing.

    # -- identification -----------------------------------------------------------------------
    def start_worker(self):
        """Fork the picture worker (once) and let it load the models."""
        if self.worker is None:
            context = multiprocessing.get_context("fork")
            self.worker = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=context, initializer=end_with_the_bridge, initargs=(os.getpid(),)
            )
            self.worker.submit(warm_up)

    def analyse(self, data):
        """The embedding of the one face of a picture, or the reason there is none
        ("not_image", "no_face", "several_faces"): (embedding or None, reason or None). Waits for
        the worker process: the bridge calls it from a thread, so its other requests go on.
        RuntimeError when the worker died (a new one is started for the next picture)."""
        try:
            return self.worker.submit(analyse_picture, data).result(timeout=PICTURE_TIMEOUT)
        except (concurrent.futures.process.BrokenProcessPool, concurrent.futures.TimeoutError) as error:
            _logger.error("face worker failed (%s); starting a new one", error)
            worker, self.worker = self.worker, None
            worker.shutdown(wait=False, cancel_futures=True)
            raise RuntimeError("face worker failed") from error

    def company_settings(self, company_id, fetch):
        """(threshold, margin) of a company, read again every few seconds."""
        cached = self.settings.get(company_id)
        if cached is None or time.monotonic() - cached[2] > SETTINGS_SECONDS:
            rows = fetch(face_sql.SETTINGS, [company_id])
            threshold, margin = rows[0] if rows else DEFAULT_SETTINGS
            cached = self.settings[company_id] = (float(threshold), float(margin), time.monotonic())
        return cached[0], cached[1]

    def galleries_of(self, company_ids):
        return [gallery for company_id, gallery in self.galleries.items() if company_id in company_ids]

    def identify(self, terminal, embedding, fetch):
        """The answer of an identification among the faces of the companies the terminal serves
        (face_sql.SERVED_COMPANIES): {"match": {"face_id", "employee_no", "name", "distance"}}
        or {"match": None, "reason": "no_match" | "ambiguous"}; `fetch(query, params) -> rows`
        reads in the request's transaction. The match also carries "employee_id" (removed from answers)."""
        threshold, margin = self.company_settings(terminal.company_id, fetch)
        served = {row[0] for row in fetch(face_sql.SERVED_COMPANIES, {"terminal": terminal.id})}
        galleries = self.galleries_of(served)
        for _attempt in range(3):
            face_id, _person, found = self.match.search_many(galleries, embedding, threshold, margin)
            if face_id is None:
                return {"match": None, "reason": found.reason}
            rows = fetch(face_sql.MATCHED, [face_id])
            if rows:
                _face, employee_id, employee_no, name, face_code = rows[0]
                return {
                    "match": {
                        "face_id": face_code,
                        "employee_no": employee_no,
                        "name": name,
                        "distance": f"{found.distance:.2f}",
                        "employee_id": employee_id,
                    }
                }
            # Withdrawn or replaced before this process heard of it: never again, search again.
            self._forget(face_id)
        return {"match": None, "reason": "no_match"}


def charge_identity(answer):
    """(lookup identity, recorded identity, answer's "face" part) of a charge by face image:
    a match charges the person by face id (or employee number); anything else is looked up as
    nobody and declined `unknown_identity`, recorded with the reason."""
    match = answer["match"]
    if match is None:
        return NOBODY, ("face_image", answer["reason"]), {"reason": answer["reason"]}
    if match["face_id"]:
        lookup = {"type": "face", "value": match["face_id"]}
    elif match["employee_no"]:
        lookup = {"type": "employee", "value": match["employee_no"]}
    else:
        return NOBODY, ("face_image", "no_match"), {"reason": "no_match"}
    part = {"face_id": match["face_id"], "distance": match["distance"]}
    return lookup, ("face_image", match["face_id"] or match["employee_no"]), part


class FaceImageCharge(charge_engine.Charge):
    """A charge whose identity was a face image, identified before it is built: it is looked
    up as the face id found (`charge_identity`), recorded as ("face_image", face id or reason),
    and its answer carries a "face" part (face id and distance, or the reason of no match)."""

    def __init__(self, terminal, request, identified, *, nonce=None):
        lookup, self.recorded_identity, self.face = charge_identity(identified)
        super().__init__(terminal, dict(request, identity=lookup), nonce=nonce)

    def decide(self, row):
        super().decide(row)
        if self.values is None:
            return  # a replay (its recorded answer as it was) or a bad request
        self.values["identity_type"], self.values["identity_value"] = self.recorded_identity
        self.answer["face"] = self.face
        self.values["response"] = json.dumps(self.answer)
