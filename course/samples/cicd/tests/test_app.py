"""Tests that run INSIDE the built image, with the standard library's unittest:

    docker run --rm -v "$PWD/tests:/srv/tests:ro" describe-api:test python -m unittest discover -s tests -v

They import the app exactly as the image ships it, so a missing package or file fails them.
"""

import unittest

from app import app, describe


class DescribeTest(unittest.TestCase):
    def test_describe_numbers(self) -> None:
        self.assertEqual(describe([1, 2, 3, 10]),
                         {"count": 4, "mean": 4.0, "median": 2.5, "min": 1, "max": 10})

    def test_endpoint_answers(self) -> None:
        answer = app.test_client().post("/describe", json={"values": [2.0, 4.0, 9.0]})
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer.get_json()["median"], 4.0)

    def test_endpoint_rejects_bad_input(self) -> None:
        answer = app.test_client().post("/describe", json={"values": ["a", "b"]})
        self.assertEqual(answer.status_code, 400)

    def test_health(self) -> None:
        self.assertEqual(app.test_client().get("/health").get_json(), {"status": "ok"})


if __name__ == "__main__":
    unittest.main()
