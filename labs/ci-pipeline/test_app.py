"""The model's tests, run inside the image: `python -m unittest -v`."""

import unittest

from app import label, score


class ModelTest(unittest.TestCase):
    def test_score(self) -> None:
        self.assertAlmostEqual(score({"petal_length": 5.0, "petal_width": 2.0}), 2.84)

    def test_labels(self) -> None:
        self.assertEqual(label({"petal_length": 5.0, "petal_width": 2.0}), "virginica")
        self.assertEqual(label({"petal_length": 3.0, "petal_width": 0.8}), "versicolor")

    def test_missing_measurement(self) -> None:
        with self.assertRaises(KeyError):
            score({"petal_length": 5.0})


if __name__ == "__main__":
    unittest.main()
