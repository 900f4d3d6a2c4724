"""A lab spec that does not fit together is refused when the labs load, with what to fix, not in a learner's run."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import graders.labs
from graders.check_model import Check, Need, Outcome
from graders.errors import SpecInvalid
from graders.labs import all_labs, get_lab
from graders.results import Category
from graders.spec import RunMode
from graders.validation import problems, validate


def _check(name: str, *needs: Need) -> Check:
    return Check(name, name, 1, Category.STATIC, needs, lambda _ctx: Outcome.passed("ok"))


def test_every_lab_of_the_course_fits_together() -> None:
    for spec in all_labs().values():
        assert problems(spec) == [], spec.id


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    spec = replace(get_lab("ml-api"), kind="quiz")
    with pytest.raises(SpecInvalid) as refused:
        validate(spec)
    assert "kind 'quiz' is not a lab kind (known: dockerfile, compose, " in refused.value.message  # then the newer kinds
    assert "engine-state" in refused.value.message


def test_a_dockerfile_check_in_a_compose_lab_is_refused() -> None:
    compose = get_lab("secure-runtime")
    dockerfile_check = get_lab("ml-api").check("healthcheck_declared")
    found = problems(replace(compose, checks=(*compose.checks, dockerfile_check)))
    assert found == ["check 'healthcheck_declared' needs the lab's Dockerfile, parsed, which a compose lab does not provide"]


def test_a_check_of_a_port_in_a_batch_job_is_refused() -> None:
    batch = get_lab("first-image")
    found = problems(replace(batch, checks=(*batch.checks, get_lab("ml-api").check("health_endpoint"))))
    assert found == ["check 'health_endpoint' needs a server answering on the lab's port, which a dockerfile lab "
                     "run as batch does not provide"]
    server = get_lab("ml-api")
    found = problems(replace(server, checks=(*server.checks, batch.check("prints_result"))))
    assert found == ["check 'prints_result' needs the finished job's exit code and output, which a dockerfile lab "
                     "run as server does not provide"]


def test_two_checks_with_one_name_are_refused() -> None:
    spec = get_lab("ml-api")
    found = problems(replace(spec, checks=(*spec.checks, _check("image_builds", Need.IMAGE))))
    assert found == ["2 checks are named 'image_builds': each check needs a name of its own"]


def test_a_variant_naming_a_check_the_lab_lacks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "typo.toml").write_text('description = "d"\nfails = ["image_buils", "image_builds"]\n')
    (tmp_path / "gaming").mkdir()
    (tmp_path / "gaming" / "ghost.toml").write_text('description = "d"\nfails = ["no_such_check"]\n')
    spec = replace(get_lab("ml-api"), folder=tmp_path)
    assert problems(spec) == ["broken/typo names checks this lab does not have: image_buils",
                              "gaming/ghost names checks this lab does not have: no_such_check"]


def test_a_check_must_say_what_it_needs_and_a_run_mode_must_be_one_there_is() -> None:
    with pytest.raises(ValueError, match="declares no needs"):
        _check("vague")
    assert replace(get_lab("ml-api"), run_mode="batch").run_mode is RunMode.BATCH  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        replace(get_lab("ml-api"), run_mode="nightly")  # type: ignore[arg-type]


def test_the_loader_refuses_a_lab_that_does_not_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal comes when the labs load: a lab package with an unknown kind stops all_labs()."""
    package = tmp_path / "zz_quiz_lab"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "spec.py").write_text(textwrap.dedent("""
        from dataclasses import replace
        from pathlib import Path
        from graders.labs.ml_api.spec import SPEC as ML_API
        SPEC = replace(ML_API, id="zz-quiz", kind="quiz", folder=Path(__file__).parent)
    """))
    monkeypatch.setattr(graders.labs, "__path__", [*graders.labs.__path__, str(tmp_path)])
    all_labs.cache_clear()
    try:
        with pytest.raises(SpecInvalid, match="Lab 'zz-quiz' does not fit together: kind 'quiz'"):
            all_labs()
    finally:
        all_labs.cache_clear()
        sys.modules.pop("graders.labs.zz_quiz_lab.spec", None)
        sys.modules.pop("graders.labs.zz_quiz_lab", None)
