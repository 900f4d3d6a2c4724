"""Unit tests of the project's API, run INSIDE the image's test stage with Flask's test client: no server, no port."""

import pytest

from app import app


@pytest.fixture()
def client():
    return app.test_client()


def test_forecast_answers_for_a_known_station(client) -> None:
    answer = client.post("/forecast", json={"station": "hill", "days": 3})
    assert answer.status_code == 200
    assert answer.get_json()["station"] == "hill"
    assert [row["day"] for row in answer.get_json()["forecast"]] == ["2026-03-31", "2026-04-01", "2026-04-02"]


def test_an_unknown_station_is_404(client) -> None:
    assert client.post("/forecast", json={"station": "summit"}).status_code == 404


@pytest.mark.parametrize("days", [0, 15, "3", True], ids=repr)
def test_days_out_of_range_or_not_a_number_are_400(client, days) -> None:
    assert client.post("/forecast", json={"station": "hill", "days": days}).status_code == 400


def test_a_body_that_is_not_json_is_400(client) -> None:
    assert client.post("/forecast", data="hill", content_type="text/plain").status_code == 400


def test_health_lists_the_stations(client) -> None:
    assert client.get("/health").get_json() == {"status": "ok", "stations": ["harbour", "hill", "valley"]}
