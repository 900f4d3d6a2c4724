"""Unit tests of the project's model, run INSIDE the image's test stage (see the Dockerfile):

    docker build --target test -t forecast-api:test .
    docker run --rm forecast-api:test
"""

import datetime
import json

import pytest

from forecast import MAX_DAYS, fit, forecast, read_readings


@pytest.fixture(scope="module")
def model() -> dict:
    return fit(read_readings("readings.csv"))


def test_fit_finds_the_three_stations(model: dict) -> None:
    assert sorted(model["stations"]) == ["harbour", "hill", "valley"]
    assert model["rows"] == 90


def test_forecast_gives_consecutive_days_after_the_last_reading(model: dict) -> None:
    days = [datetime.date.fromisoformat(row["day"]) for row in forecast(model, "hill", MAX_DAYS)]
    assert days[0] == datetime.date(2026, 3, 31)  # the readings end on 2026-03-30
    assert [(later - earlier).days for earlier, later in zip(days, days[1:])] == [1] * (MAX_DAYS - 1)


def test_the_image_ships_the_model_the_readings_give(model: dict) -> None:
    with open("model.json", encoding="utf-8") as f:  # trained in the builder stage
        assert json.load(f) == model
