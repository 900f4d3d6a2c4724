"""Stand-in recipes without an engine: every chain ends at an imported Debian, bases are prepared first,
the files a recipe copies ship with the package, and the stand-ins older than stacked recipes keep their
exact instructions (the build cache, and the images already on learners' machines, stay valid)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from graders import images
from graders.images import CA_IN_IMAGE, RECIPES, Recipe
from graders.package_cache import service as package_cache
from graders.stand_in_python import TRIXIE_PYTHON
from graders.stand_in_python import layers as python_layers

CA_ENV = f"PIP_CERT={CA_IN_IMAGE} SSL_CERT_FILE={CA_IN_IMAGE} REQUESTS_CA_BUNDLE={CA_IN_IMAGE}"


@pytest.mark.parametrize("ref", list(RECIPES))
def test_every_chain_ends_at_an_imported_debian(ref: str) -> None:
    recipe, seen = RECIPES[ref], [ref]
    while recipe.base is not None:
        assert recipe.base in RECIPES, f"{seen[-1]} builds on {recipe.base}, which has no recipe"
        assert recipe.base not in seen, f"recipes loop: {[*seen, recipe.base]}"
        seen.append(recipe.base)
        recipe = RECIPES[recipe.base]
    assert recipe.suite is not None


def test_bases_are_prepared_before_what_builds_on_them() -> None:
    order = images.in_build_order(RECIPES)
    for position, ref in enumerate(order):
        base = RECIPES[ref].base
        assert base is None or order.index(base) < position, order


def test_a_recipe_names_a_suite_or_a_base() -> None:
    with pytest.raises(ValueError):
        Recipe()
    with pytest.raises(ValueError):
        Recipe(suite="trixie", base="debian:trixie-slim")


@pytest.mark.parametrize("ref", [ref for ref, recipe in RECIPES.items() if recipe.files])
def test_copied_files_ship_with_the_package(ref: str) -> None:
    for name, _target in RECIPES[ref].files:
        assert (resources.files("graders") / images.STAND_IN_FILES / name).is_file(), name


@pytest.mark.parametrize("cache", ["off", "on"])
def test_python_stand_in_keeps_its_instructions(cache: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The long layers come first and stay as they were; the package cache's authority, where the cache is on, goes
    in late (a second copy of the CA file, with the authority appended), so adding it rebuilt no CPython."""
    monkeypatch.setenv("MASTERY_PACKAGE_CACHE", cache)
    monkeypatch.setenv("MASTERY_PACKAGE_CACHE_DIR", str(tmp_path))
    copy_line = label = ""
    if cache == "on":
        fingerprint = package_cache.fingerprint(package_cache.authority().cert_path)
        copy_line, label = f"COPY trusted-ca.crt {CA_IN_IMAGE}\n", f" {package_cache.CA_LABEL}={fingerprint}"
    assert images.dockerfile("python:3.13-slim", RECIPES["python:3.13-slim"], with_ca=True) == (
        "FROM debian:trixie-slim\n"
        f"COPY host-ca.crt {CA_IN_IMAGE}\n"
        + "".join(line + "\n" for line in python_layers(TRIXIE_PYTHON, images.MIRROR)) +
        f"ENV LANG=C.UTF-8 {CA_ENV}\n"
        + copy_line +
        "LABEL io.mastery.stand-in=true io.mastery.stand-in.for=python:3.13-slim "
        f"io.mastery.stand-in.revision={images.revision('python:3.13-slim')}{label}\n"
        'CMD ["python3"]\n')


def test_postgres_stand_in_has_the_official_interface() -> None:
    text = images.dockerfile(images.POSTGRES_IMAGE, RECIPES[images.POSTGRES_IMAGE], with_ca=False).splitlines()
    for line in ('ENTRYPOINT ["docker-entrypoint.sh"]', 'CMD ["postgres"]', "EXPOSE 5432",
                 'VOLUME ["/var/lib/postgresql/data"]', "STOPSIGNAL SIGINT"):
        assert line in text
    assert text[0] == "FROM debian:trixie-slim"


def test_registry_stand_in_has_the_official_interface() -> None:
    text = images.dockerfile(images.REGISTRY_IMAGE, RECIPES[images.REGISTRY_IMAGE], with_ca=False).splitlines()
    for line in ('ENTRYPOINT ["registry", "serve"]', 'CMD ["/etc/docker/registry/config.yml"]', "EXPOSE 5000",
                 'VOLUME ["/var/lib/registry"]', "COPY registry-config.yml /etc/docker/registry/config.yml"):
        assert line in text
    assert text[0] == "FROM debian:trixie-slim"


def test_mlflow_stand_in_adds_mlflow_and_nothing_else() -> None:
    text = images.dockerfile(images.MLFLOW_IMAGE, RECIPES[images.MLFLOW_IMAGE], with_ca=True).splitlines()
    assert text == ["FROM python:3.11-slim", f"RUN pip install --no-cache-dir mlflow=={images.MLFLOW_VERSION}",
                    f"LABEL io.mastery.stand-in=true io.mastery.stand-in.for={images.MLFLOW_IMAGE} "
                    f"io.mastery.stand-in.revision={images.revision(images.MLFLOW_IMAGE)}"]


def test_a_change_under_a_stand_in_makes_it_out_of_date(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {ref: images.revision(ref) for ref in RECIPES}
    monkeypatch.setitem(RECIPES, "debian:trixie-slim", Recipe(suite="trixie", cmd=("sh",)))
    after = {ref: images.revision(ref) for ref in RECIPES}
    changed = {ref for ref in RECIPES if before[ref] != after[ref]}

    def chain(ref: str) -> list[str]:
        base = RECIPES[ref].base
        return [ref, *(chain(base) if base in RECIPES else [])]

    on_trixie = {ref for ref in RECIPES if "debian:trixie-slim" in chain(ref)}
    assert changed == on_trixie and {images.POSTGRES_IMAGE, "python:3.13-slim"} <= changed
    assert "python:3.11-slim" not in changed and images.MLFLOW_IMAGE not in changed
