import numpy

from odoo.tests import BaseCase, tagged

from odoo.addons.canteen_face.tools import face_match


@tagged("post_install", "-at_install")
class TestFaceMatch(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # As the bridge: OpenBLAS's threads fight over the two cores for each small product.
        face_match.single_thread_blas()

    def setUp(self):
        super().setUp()
        rng = numpy.random.default_rng(7)
        self.vectors = rng.normal(size=(500, 128))
        self.matrix = face_match.build_matrix(self.vectors)

    def _near(self, row, distance, rng_seed=3):
        """A vector at about `distance` from the unit row."""
        rng = numpy.random.default_rng(rng_seed)
        base = self.matrix[row].astype(numpy.float64)
        noise = rng.normal(size=128)
        noise -= noise.dot(base) * base
        noise /= numpy.linalg.norm(noise)
        angle = 2 * numpy.arcsin(distance / 2)
        return numpy.cos(angle) * base + numpy.sin(angle) * noise

    def test_matrix_is_unit_float32(self):
        self.assertEqual(self.matrix.dtype, numpy.float32)
        self.assertTrue(self.matrix.flags.c_contiguous)
        numpy.testing.assert_allclose(numpy.linalg.norm(self.matrix, axis=1), 1.0, rtol=1e-5)

    def test_match_within_threshold(self):
        found = face_match.identify(self.matrix, self._near(42, 0.3) * 7.5, threshold=0.4, margin=0.05)
        self.assertEqual(found.index, 42)
        self.assertAlmostEqual(found.distance, 0.3, places=3)
        self.assertGreater(found.second_distance, 1.0)
        self.assertIsNone(found.reason)

    def test_no_match_beyond_threshold(self):
        found = face_match.identify(self.matrix, self._near(42, 0.45), threshold=0.4, margin=0.05)
        self.assertIsNone(found.index)
        self.assertEqual(found.reason, "no_match")
        self.assertAlmostEqual(found.distance, 0.45, places=3)

    def test_ambiguous_when_second_person_within_margin(self):
        matrix = face_match.build_matrix(numpy.vstack([self.vectors, self._near(42, 0.02)]))
        query = self._near(42, 0.2, rng_seed=9)
        found = face_match.identify(matrix, query, threshold=0.4, margin=0.05)
        self.assertIsNone(found.index)
        self.assertEqual(found.reason, "ambiguous")
        # Same faces labelled as one person: the margin compares with other people only.
        labels = numpy.arange(len(matrix))
        labels[-1] = 42
        found = face_match.identify(matrix, query, threshold=0.4, margin=0.05, labels=labels)
        self.assertIn(found.index, (42, len(matrix) - 1))

    def test_empty_and_zero(self):
        self.assertEqual(face_match.identify(face_match.build_matrix([]), numpy.ones(128)).reason, "no_match")
        self.assertEqual(face_match.identify(self.matrix, numpy.zeros(128)).reason, "no_match")
        one = face_match.build_matrix(self.vectors[:1])
        found = face_match.identify(one, self.vectors[0])
        self.assertEqual(found.index, 0)
        self.assertIsNone(found.second_distance)

    def test_gallery_upsert_replace_delete(self):
        gallery = face_match.Gallery(capacity=2)
        for face_id in range(10):
            gallery.upsert(face_id + 100, face_id, self.vectors[face_id])
        self.assertEqual(len(gallery), 10)
        face_id, person, found = gallery.identify(self._near(3, 0.2), threshold=0.4)
        self.assertEqual((face_id, person), (103, 3))
        self.assertAlmostEqual(found.distance, 0.2, places=3)
        # A new face of person 3 replaces the old one: the old vector no longer matches.
        gallery.upsert(500, 3, self.vectors[400])
        self.assertEqual(len(gallery), 10)
        self.assertNotIn(103, gallery)
        self.assertEqual(gallery.identify(self._near(3, 0.2))[2].reason, "no_match")
        self.assertEqual(gallery.identify(self._near(400, 0.2))[:2], (500, 3))
        # Deleting a face in the middle keeps every other face findable.
        self.assertTrue(gallery.delete(105))
        self.assertFalse(gallery.delete(105))
        self.assertEqual(gallery.identify(self._near(5, 0.1))[2].reason, "no_match")
        for person in (0, 1, 2, 4, 6, 7, 8, 9):
            self.assertEqual(gallery.identify(self._near(person, 0.1))[:2], (100 + person, person))
        for face_id in [*range(100, 110), 500]:
            gallery.delete(face_id)
        self.assertEqual(len(gallery), 0)
        self.assertEqual(gallery.identify(self.vectors[0])[2].reason, "no_match")

    def test_gallery_load_and_search_many(self):
        head, tail = face_match.Gallery(), face_match.Gallery()
        head.load(numpy.arange(100, 300), numpy.arange(200), self.vectors[:200])
        # A person twice in a load: the last face wins.
        tail.load([900, 901, 902], [300, 301, 300], self.vectors[[300, 301, 302]])
        self.assertEqual((len(head), len(tail)), (200, 2))
        self.assertNotIn(900, tail)
        found = face_match.search_many([head, tail], self._near(302, 0.2), threshold=0.4)
        self.assertEqual(found[:2], (902, 300))
        self.assertEqual(face_match.search_many([head, tail], self._near(42, 0.2))[:2], (142, 42))
        # The runner-up in another gallery makes the answer ambiguous.
        tail.upsert(903, 302, self._near(42, 0.02, rng_seed=5))
        found = face_match.search_many([head, tail], self._near(42, 0.2, rng_seed=9))
        self.assertEqual(found[2].reason, "ambiguous")
        self.assertEqual(face_match.search_many([], self.vectors[0])[2].reason, "no_match")
        # The search reuses its buffer: the scores of one search do not leak into the next.
        self.assertEqual(head.search(face_match.unit(self.vectors[7]))[0], 107)
        self.assertEqual(head.search(face_match.unit(self.vectors[8]))[0], 108)

    def _gallery_data(self, rng, rows, kind):
        """Unit rows: isotropic (the benchmark's) or in a cone with decaying variances (as
        real embeddings, strangers 0.5-1.2 apart), with near-duplicates of 150 rows at 0-0.1."""
        vectors = rng.normal(size=(rows, 128))
        if kind == "cone":
            vectors *= numpy.arange(1, 129) ** -0.6
            vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = 0.7 * vectors + 0.75 * face_match.unit(rng.normal(size=128))
        vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
        originals = rng.choice(numpy.arange(150, rows), 150, replace=False)
        for row, original in enumerate(originals):
            vectors[row] = self._around(rng, vectors[original], rng.uniform(0.0, 0.1))
        return vectors, originals

    @staticmethod
    def _around(rng, base, distance):
        noise = rng.normal(size=128)
        noise -= noise.dot(base) * base
        noise /= numpy.linalg.norm(noise)
        angle = 2 * numpy.arcsin(distance / 2)
        return numpy.cos(angle) * base + numpy.sin(angle) * noise

    def test_coarse_search_equals_exhaustive(self):
        """Above `exhaustive_max` faces the coarse pass then exact distances of its candidates
        answer as the exhaustive search: same decision, same face and distance whenever the
        best is within 0.7, the same second distance whenever it can change the decision.
        Queries: other photos of enrolled people, of people enrolled twice (ambiguous),
        strangers near someone and random strangers."""
        rng = numpy.random.default_rng(12)
        threshold, margin = 0.5, 0.05
        for kind in ("isotropic", "cone"):
            vectors, originals = self._gallery_data(rng, 6000, kind)
            gallery = face_match.Gallery(exhaustive_max=1000)
            gallery.load(numpy.arange(6000) + 10, numpy.arange(6000) + 20000, vectors.astype(numpy.float32))
            self.assertTrue(gallery.coarse)
            queries = [
                self._around(rng, vectors[row], rng.uniform(0.1, 0.55)) for row in rng.integers(0, 6000, 250)
            ]
            queries += [self._around(rng, vectors[row], rng.uniform(0.0, 0.45)) for row in originals]
            queries += [
                self._around(rng, vectors[row], rng.uniform(0.5, 0.8)) for row in rng.integers(0, 6000, 60)
            ]
            queries += list(rng.normal(size=(40, 128)))
            reasons = set()
            for query in queries:
                coarse = gallery.identify(query, threshold, margin)
                exact = gallery.identify(query, threshold, margin, exhaustive=True)
                reasons.add(exact[2].reason)
                self.assertEqual(coarse[:2], exact[:2])
                self.assertEqual(coarse[2].reason, exact[2].reason)
                if exact[2].distance <= 0.7:
                    self.assertAlmostEqual(coarse[2].distance, exact[2].distance, places=5)
                if (
                    exact[2].distance <= threshold
                    and exact[2].second_distance - exact[2].distance < 2 * margin
                ):
                    self.assertAlmostEqual(coarse[2].second_distance, exact[2].second_distance, places=5)
            self.assertEqual(reasons, {None, "ambiguous", "no_match"})

    def test_coarse_gallery_follows_changes(self):
        """Faces added, replaced and deleted in a gallery searched by the coarse pass."""
        rng = numpy.random.default_rng(5)
        vectors = rng.normal(size=(3000, 128))
        gallery = face_match.Gallery(exhaustive_max=1000)
        gallery.load(numpy.arange(3000), numpy.arange(3000), vectors)
        new = rng.normal(size=128)
        self.assertEqual(gallery.identify(new)[2].reason, "no_match")
        gallery.upsert(5000, 7, new)  # person 7's new face replaces face 7
        self.assertEqual(gallery.identify(self._around(rng, face_match.unit(new), 0.2))[:2], (5000, 7))
        self.assertEqual(gallery.identify(vectors[7])[2].reason, "no_match")
        self.assertTrue(gallery.delete(12))
        self.assertEqual(gallery.identify(vectors[12])[2].reason, "no_match")
        self.assertEqual(gallery.identify(vectors[2999])[:2], (2999, 2999))  # moved into row 12
        # Growing past twice the size the axes were computed at computes them again.
        for face_id in range(6000, 9100):
            gallery.upsert(face_id, face_id, rng.normal(size=128))
        self.assertEqual(gallery.identify(vectors[100])[:2], (100, 100))
        self.assertEqual(gallery._coarse_size, len(gallery))
        # Back under the limit: exhaustive again.
        for face_id in range(6000, 9100):
            gallery.delete(face_id)
        for face_id in range(1000, 3000):
            gallery.delete(face_id)
        self.assertFalse(gallery.coarse)
        self.assertEqual(gallery.identify(vectors[500])[:2], (500, 500))
