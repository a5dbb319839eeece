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
