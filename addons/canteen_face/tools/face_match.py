"""1:N identification over a matrix of normalised embeddings (pure numpy, no Odoo).

The matrix holds one row per enrolled face, each a float32 vector of unit length; the distance
between two faces is the Euclidean distance of their unit vectors, sqrt(2 - 2 cos), from 0
(identical) to 2. On dlib's ResNet embeddings, photos of one person are 0.15 to 0.35 apart and
different people 0.55 and more (the shared test photos: 0.17-0.31 and 0.58-0.63).

A match needs the best distance at most `threshold` AND the best row of another person at
least `margin` further; otherwise there is no match, never a guess.

A large gallery (more than `EXHAUSTIVE_MAX` faces) is searched in two passes: a coarse pass over
a small copy of the matrix (each row projected on the gallery's `COARSE_DIM` principal axes and
scaled to unit length: 9.6 MB at 100,000 faces instead of 49 MB, which is what a search reads
from memory) selects at most `CANDIDATES` rows, then the exact float32 distances of those rows
decide. The best face and its distance are the exhaustive search's whenever the true best is
among the candidates, and so is the decision when the faces within the margin of the best are
candidates too: faces that near the query are near it in the coarse pass as well (the tests
compare both searches on synthetic galleries, isotropic and cone-shaped like real embeddings,
with near-duplicates). A second-best face too far to change the decision may be reported
farther than it is, and a best face farther than about 0.7 (no match anyway) may be another.
"""

import ctypes
import dataclasses
import glob
import os

import numpy

NO_MATCH = "no_match"
AMBIGUOUS = "ambiguous"
# A match is at most this far (the companies' default setting) and the next person at least
# the margin further.
DEFAULT_THRESHOLD = 0.5
DEFAULT_MARGIN = 0.05

# Up to this many faces a gallery is searched exhaustively: its matrix (4.9 MB at 10,000 faces)
# stays in the processor's cache and a search takes 0.2-0.4 ms.
EXHAUSTIVE_MAX = 20_000
# Dimensions of the coarse pass (principal axes of the gallery's embeddings): 24 rather than 32
# keeps the coarse copy of 100,000 faces (9.6 MB instead of 12.8) in the cache that other
# processes share, for the same answers (tests; the benchmark: all its queries at 100,000).
COARSE_DIM = 24
# Rows of the coarse pass whose score is within COARSE_DELTA of its best are candidates, at most
# CANDIDATES of them (the best scores), at least MIN_CANDIDATES.
COARSE_DELTA = 0.5
CANDIDATES = 256
MIN_CANDIDATES = 32


@dataclasses.dataclass(frozen=True)
class Match:
    """The answer of `identify`: `index` is the matching row, or None with a `reason`."""

    index: int | None
    distance: float | None
    second_distance: float | None
    reason: str | None = None


def build_matrix(vectors, dim=128):
    """A C-contiguous float32 matrix of the vectors, each scaled to unit length."""
    matrix = numpy.array(vectors, dtype=numpy.float32).reshape(-1, dim)
    norms = numpy.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return numpy.ascontiguousarray(matrix / norms)


def single_thread_blas():
    """Make numpy's OpenBLAS use one thread, in a process that has already loaded it (the
    variable OPENBLAS_NUM_THREADS is only read at load). A search is a matrix-vector product
    bound by memory bandwidth: a second thread does not make it faster on a shared machine and
    takes a core from the other requests. Best effort: True when the setting was applied."""
    names = (
        "scipy_openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads",
        "openblas_set_num_threads",
    )
    folder = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            if hasattr(library, name):
                getattr(library, name)(1)
                return True
    return False


def _distance(similarity):
    return float(numpy.sqrt(max(0.0, 2.0 - 2.0 * float(similarity))))


def identify(matrix, query, threshold=DEFAULT_THRESHOLD, margin=DEFAULT_MARGIN, labels=None):
    """Find the row of `matrix` (n x d, unit rows) nearest to `query` (d, any length).

    `labels` (optional, n person ids) makes the margin compare with the best row of another
    person, for matrices holding several faces of one person; without it every row is a person.
    """
    if matrix is None or not len(matrix):
        return Match(None, None, None, NO_MATCH)
    query = unit(query, matrix.shape[1])
    if query is None:
        return Match(None, None, None, NO_MATCH)
    similarity = matrix @ query
    if labels is not None:
        best = int(numpy.argmax(similarity))
        others = similarity[numpy.asarray(labels) != labels[best]]
        second = float(others.max()) if len(others) else None
        return decide(best, float(similarity[best]), second, threshold, margin)
    return decide(*top_two(similarity), threshold, margin)


def unit(query, dim=128):
    """The query as a contiguous float32 vector of unit length; None when it is all zeros."""
    query = numpy.asarray(query, dtype=numpy.float32).reshape(-1)
    if query.shape[0] != dim:
        return None
    norm = float(numpy.sqrt(query.dot(query)))
    return numpy.ascontiguousarray(query / norm) if norm else None


def top_two(similarity):
    """(index, similarity) of the best row and the similarity of the second (None with one row):
    two passes of argmax, no allocation (argpartition allocates an index array as long as the
    gallery). The array is restored before returning."""
    best = int(similarity.argmax())
    best_similarity = float(similarity[best])
    if len(similarity) < 2:
        return best, best_similarity, None
    similarity[best] = -numpy.inf
    try:
        second = float(similarity[int(similarity.argmax())])
    finally:
        similarity[best] = best_similarity
    return best, best_similarity, second


def decide(index, similarity, second_similarity, threshold, margin):
    """The Match of the best row and the second-best person's similarity (None: nobody)."""
    distance = _distance(similarity)
    second = None if second_similarity is None else _distance(second_similarity)
    if distance > threshold:
        return Match(None, distance, second, NO_MATCH)
    if second is not None and second - distance < margin:
        return Match(None, distance, second, AMBIGUOUS)
    return Match(index, distance, second)


# The current faces of some companies, as the bridge loads them (then follows LISTEN canteen_face
# for upserts and deletes); `embedding` is base64 of 128 little-endian float32 of unit length.
CURRENT_FACES_SQL = (
    "SELECT id, employee_id, embedding FROM canteen_face "
    "WHERE is_current AND state = 'valid' AND embedding IS NOT NULL AND company_id = ANY(%s)"
)


class Gallery:
    """Faces kept in memory for 1:N search: a float32 matrix of unit rows with one current face
    per person, changed in place (upsert, delete) without rebuilding. Above `exhaustive_max`
    faces it also keeps the coarse copy of the matrix (see the module's doc), updated with each
    row and its axes computed again when the gallery has doubled since (amortised O(1) per face).
    Not thread-safe: one per process (or per gevent hub), like the bridge's other caches."""

    def __init__(self, dim=128, capacity=1024, exhaustive_max=None):
        self.dim = dim
        self.exhaustive_max = EXHAUSTIVE_MAX if exhaustive_max is None else exhaustive_max
        self._allocate(max(1, capacity))
        self._size = 0
        self._row_of_face = {}
        self._row_of_person = {}

    def _allocate(self, capacity):
        self._matrix = numpy.zeros((capacity, self.dim), dtype=numpy.float32)
        self._faces = numpy.zeros(capacity, dtype=numpy.int64)
        self._people = numpy.zeros(capacity, dtype=numpy.int64)
        self._scores = numpy.zeros(capacity, dtype=numpy.float32)  # reused by each search
        self._selected = numpy.zeros(capacity, dtype=bool)  # reused by each coarse pass
        self._basis = self._coarse = None
        self._coarse_size = 0  # faces when the coarse axes were computed

    def __len__(self):
        return self._size

    def __contains__(self, face_id):
        return face_id in self._row_of_face

    @property
    def coarse(self):
        """True when searches take the coarse pass (more than `exhaustive_max` faces)."""
        return self._size > self.exhaustive_max

    def load(self, face_ids, person_ids, vectors):
        """Replace the whole gallery (one face per person: the last of a person wins)."""
        matrix = (
            build_matrix(vectors, self.dim) if len(vectors) else numpy.zeros((0, self.dim), numpy.float32)
        )
        last = {int(person): row for row, person in enumerate(person_ids)}
        rows = sorted(last.values())
        self._allocate(max(1024, 2 * len(rows)))
        self._size = len(rows)
        self._matrix[: self._size] = matrix[rows]
        self._faces[: self._size] = numpy.asarray(face_ids, dtype=numpy.int64)[rows]
        self._people[: self._size] = numpy.asarray(person_ids, dtype=numpy.int64)[rows]
        self._row_of_face = {int(face): row for row, face in enumerate(self._faces[: self._size])}
        self._row_of_person = {int(person): row for row, person in enumerate(self._people[: self._size])}
        if self.coarse:
            self._build_coarse()

    def upsert(self, face_id, person_id, vector):
        """Add a face (unit-scaled here); it replaces the person's previous face, if any."""
        for row in (self._row_of_face.get(face_id), self._row_of_person.get(person_id)):
            if row is not None and row < self._size:
                self._remove_row(row)
        if self._size == len(self._matrix):
            grow = len(self._matrix)
            self._matrix = numpy.concatenate([self._matrix, numpy.zeros((grow, self.dim), numpy.float32)])
            self._faces = numpy.concatenate([self._faces, numpy.zeros(grow, numpy.int64)])
            self._people = numpy.concatenate([self._people, numpy.zeros(grow, numpy.int64)])
            self._scores = numpy.zeros(len(self._matrix), numpy.float32)
            self._selected = numpy.zeros(len(self._matrix), bool)
            if self._coarse is not None:
                self._coarse = numpy.concatenate(
                    [self._coarse, numpy.zeros((grow, self._coarse.shape[1]), numpy.float32)]
                )
        row = self._size
        self._matrix[row] = build_matrix([vector], self.dim)[0]
        self._faces[row], self._people[row] = face_id, person_id
        self._row_of_face[face_id], self._row_of_person[person_id] = row, row
        self._size += 1
        if self._coarse is not None:
            self._coarse[row] = self._project(self._matrix[row : row + 1])[0]

    def delete(self, face_id):
        """Forget a face; True when it was there."""
        row = self._row_of_face.get(face_id)
        if row is None:
            return False
        self._remove_row(row)
        return True

    def _remove_row(self, row):
        last = self._size - 1
        face_id, person_id = int(self._faces[row]), int(self._people[row])
        del self._row_of_face[face_id]
        if self._row_of_person.get(person_id) == row:
            del self._row_of_person[person_id]
        if row != last:
            self._matrix[row] = self._matrix[last]
            self._faces[row], self._people[row] = self._faces[last], self._people[last]
            self._row_of_face[int(self._faces[row])] = row
            self._row_of_person[int(self._people[row])] = row
            if self._coarse is not None:
                self._coarse[row] = self._coarse[last]
        self._size = last

    # -- coarse pass ----------------------------------------------------------------------------
    def _build_coarse(self):
        """Compute the coarse axes (principal axes of the rows' second moments) and the coarse
        copy of every row: about 0.2 s at 100,000 faces, again each time the gallery doubled."""
        rows = self._matrix[: self._size]
        moments = numpy.dot(rows.T, rows).astype(numpy.float64)
        _values, vectors = numpy.linalg.eigh(moments)
        dim = min(COARSE_DIM, self.dim)
        self._basis = numpy.ascontiguousarray(vectors[:, ::-1][:, :dim], dtype=numpy.float32)
        self._coarse = numpy.zeros((len(self._matrix), dim), dtype=numpy.float32)
        self._coarse[: self._size] = self._project(rows)
        self._coarse_size = self._size

    def _project(self, rows):
        """Rows projected on the coarse axes, each scaled to unit length (zero rows stay zero)."""
        projected = numpy.dot(rows, self._basis)
        norms = numpy.sqrt(numpy.einsum("ij,ij->i", projected, projected))[:, None]
        norms[norms == 0] = 1.0
        return projected / norms

    def _candidates(self, query):
        """Rows whose coarse score is within COARSE_DELTA of the best one (at most CANDIDATES of
        them, the best, and at least MIN_CANDIDATES); None when the query has no coarse part."""
        if self._coarse is None or self._size >= 2 * self._coarse_size:
            self._build_coarse()
        projected = numpy.dot(query, self._basis)
        norm = float(numpy.sqrt(projected.dot(projected)))
        if not norm:
            return None
        scores = self._scores[: self._size]
        numpy.dot(self._coarse[: self._size], projected / norm, out=scores)
        selected = self._selected[: self._size]
        numpy.greater_equal(scores, float(scores.max()) - COARSE_DELTA, out=selected)
        rows = numpy.flatnonzero(selected)
        if len(rows) > CANDIDATES:
            rows = rows[numpy.argpartition(scores[rows], -CANDIDATES)[-CANDIDATES:]]
        elif len(rows) < MIN_CANDIDATES:
            rows = numpy.argpartition(scores, -MIN_CANDIDATES)[-MIN_CANDIDATES:]
        return rows

    def search(self, query, exhaustive=False):
        """(face_id, person_id, similarity, second similarity) of the nearest face to a unit
        float32 `query` (see `unit`); None when the gallery is empty. Exhaustively (one
        matrix-vector product into a preallocated buffer and two argmax passes) up to
        `exhaustive_max` faces or when asked; above, the coarse pass then the exact distances
        of its candidates."""
        if not self._size:
            return None
        rows = None
        if self.coarse and not exhaustive and self._size > MIN_CANDIDATES:
            rows = self._candidates(query)
        if rows is None:
            scores = self._scores[: self._size]
            numpy.dot(self._matrix[: self._size], query, out=scores)
            row, similarity, second = top_two(scores)
        else:
            best, similarity, second = top_two(numpy.dot(self._matrix[rows], query))
            row = int(rows[best])
        return int(self._faces[row]), int(self._people[row]), similarity, second

    def identify(self, query, threshold=DEFAULT_THRESHOLD, margin=DEFAULT_MARGIN, exhaustive=False):
        """(face_id, person_id, Match) of the nearest face; ids are None when there is no match."""
        query = unit(query, self.dim)
        found = self.search(query, exhaustive) if query is not None else None
        if found is None:
            return None, None, Match(None, None, None, NO_MATCH)
        face_id, person_id, similarity, second = found
        match = decide(0, similarity, second, threshold, margin)
        if match.index is None:
            return None, None, match
        return face_id, person_id, match


def search_many(galleries, query, threshold=DEFAULT_THRESHOLD, margin=DEFAULT_MARGIN):
    """(face_id, person_id, Match) over several galleries (one per company of a subtree), as if
    they were one: the best face of all and the best of another person decide."""
    query = unit(query)
    results = [found for found in (g.search(query) for g in galleries) if found] if query is not None else []
    if not results:
        return None, None, Match(None, None, None, NO_MATCH)
    results.sort(key=lambda found: -found[2])
    face_id, person_id, similarity, second = results[0]
    # A person is in one gallery at a time: the runner-up is the best gallery's own second or
    # the next gallery's best, whichever is nearer.
    others = [value for value in (second, results[1][2] if len(results) > 1 else None) if value is not None]
    match = decide(0, similarity, max(others) if others else None, threshold, margin)
    if match.index is None:
        return None, None, match
    return face_id, person_id, match
