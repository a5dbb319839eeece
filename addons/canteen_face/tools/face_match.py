"""1:N identification over a matrix of normalised embeddings (pure numpy, no Odoo).

The matrix holds one row per enrolled face, each a float32 vector of unit length; the distance
between two faces is the Euclidean distance of their unit vectors, sqrt(2 - 2 cos), from 0
(identical) to 2. On dlib's ResNet embeddings, photos of one person are 0.15 to 0.35 apart and
different people 0.55 and more (the shared test photos: 0.17-0.31 and 0.58-0.63).

A match needs the best distance at most `threshold` AND the best row of another person at
least `margin` further; otherwise there is no match, never a guess.
"""

import dataclasses

import numpy

NO_MATCH = "no_match"
AMBIGUOUS = "ambiguous"


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


def _distance(similarity):
    return float(numpy.sqrt(max(0.0, 2.0 - 2.0 * float(similarity))))


def identify(matrix, query, threshold=0.4, margin=0.05, labels=None):
    """Find the row of `matrix` (n x d, unit rows) nearest to `query` (d, any length).

    `labels` (optional, n person ids) makes the margin compare with the best row of another
    person, for matrices holding several faces of one person; without it every row is a person.
    """
    if matrix is None or not len(matrix):
        return Match(None, None, None, NO_MATCH)
    query = numpy.asarray(query, dtype=numpy.float32).reshape(-1)
    norm = float(numpy.linalg.norm(query))
    if not norm:
        return Match(None, None, None, NO_MATCH)
    similarity = matrix @ (query / norm)
    best = int(numpy.argmax(similarity))
    best_distance = _distance(similarity[best])
    if labels is not None:
        others = similarity[numpy.asarray(labels) != labels[best]]
        second = _distance(others.max()) if len(others) else None
    elif len(similarity) > 1:
        top2 = numpy.argpartition(-similarity, 1)[:2]
        runner = top2[0] if top2[0] != best else top2[1]
        second = _distance(similarity[runner])
    else:
        second = None
    if best_distance > threshold:
        return Match(None, best_distance, second, NO_MATCH)
    if second is not None and second - best_distance < margin:
        return Match(None, best_distance, second, AMBIGUOUS)
    return Match(best, best_distance, second)


# The current faces of some companies, as the bridge loads them (then follows LISTEN canteen_face
# for upserts and deletes); `embedding` is base64 of 128 little-endian float32 of unit length.
CURRENT_FACES_SQL = (
    "SELECT id, employee_id, embedding FROM canteen_face "
    "WHERE is_current AND state = 'valid' AND embedding IS NOT NULL AND company_id = ANY(%s)"
)


class Gallery:
    """Faces kept in memory for 1:N search: a float32 matrix of unit rows with one current face
    per person, changed in place (upsert, delete) without rebuilding. Not thread-safe: one per
    process (or per gevent hub), like the bridge's other caches."""

    def __init__(self, dim=128, capacity=1024):
        self.dim = dim
        self._matrix = numpy.zeros((max(1, capacity), dim), dtype=numpy.float32)
        self._faces = numpy.zeros(max(1, capacity), dtype=numpy.int64)
        self._people = numpy.zeros(max(1, capacity), dtype=numpy.int64)
        self._size = 0
        self._row_of_face = {}
        self._row_of_person = {}

    def __len__(self):
        return self._size

    def __contains__(self, face_id):
        return face_id in self._row_of_face

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
        row = self._size
        self._matrix[row] = build_matrix([vector], self.dim)[0]
        self._faces[row], self._people[row] = face_id, person_id
        self._row_of_face[face_id], self._row_of_person[person_id] = row, row
        self._size += 1

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
        self._size = last

    def identify(self, query, threshold=0.4, margin=0.05):
        """(face_id, person_id, Match) of the nearest face; ids are None when there is no match."""
        found = identify(self._matrix[: self._size], query, threshold, margin)
        if found.index is None:
            return None, None, found
        return int(self._faces[found.index]), int(self._people[found.index]), found
