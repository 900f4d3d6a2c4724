# Two commands for everything: `make course` opens the course, `make test` runs every test.
# Both set up what is missing first (Docker Engine, Python environment, base images, the docs site).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OFFLINE ?=
# Material for MkDocs prints an end-of-life banner on every build; DESIGN.md already plans for it.
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup course test engine venv images course-engine site browser clean environment

setup: engine venv images course-engine site browser

engine:
	@bash scripts/bootstrap-engine.sh

$(BIN)/mastery: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@mkdir -p $(VENV)/share/jupyter/lab/settings && cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/
	@test -x $(BIN)/mastery && touch $(BIN)/mastery

venv: $(BIN)/mastery

# The base images are made on the host's engine, then copied into the course engine by `mastery engine start`.
images: venv
	@$(BIN)/mastery --engine host images prepare $(if $(OFFLINE),--offline,)

# The course engine (Docker Engine 28 in a container), unless MASTERY_ENGINE picks another engine.
course-engine: images
	@if [ -z "$$MASTERY_ENGINE" ] || [ "$$MASTERY_ENGINE" = course ]; then $(BIN)/mastery engine start; fi

site: venv
	@bash scripts/vendor-mermaid.sh
	@$(BIN)/python -m mkdocs build --strict --quiet

# Headless Chromium for the browser tests (Debian's package), installed as root where it is missing.
browser:
	@bash scripts/install-browser.sh

course: setup
	@bash scripts/course.sh

# The suite in two passes on the same engine: most tests in parallel workers (a grading run mostly waits on
# the engine, so three workers on two cores finish the lab proofs in about half the time), then those that
# need the engine to themselves (marker `alone`). Both passes run; either failing fails the target. `--dist
# loadgroup` keeps each engine-state lab's proofs on one worker (they take turns on the engine; tests/test_labs.py).
# Each pass ends with its slowest tests, so a CI log shows where the time went.
TEST_WORKERS ?= 3
# The engine the suite runs on: `course` (mastery engine start: Engine 28, BuildKit) or `host` (the docker
# command's own).
TEST_ENGINE ?= course
# Then a pass on the other engine, so both paths stay working: a Dockerfile lab's solution, two of its broken
# variants (a failed build, a server on loopback), the layer-cache check, a compose lab's solution; and the build
# walls that exist only where the grader uses the legacy builder (an engine older than 23, as Debian bookworm's).
SMOKE_ENGINE ?= $(if $(filter course,$(TEST_ENGINE)),host,course)
SMOKE := "tests/test_labs.py::test_solution_scores_full_marks[ml-api]" \
	"tests/test_labs.py::test_broken_variant_fails_exactly_its_checks[ml-api-broken/no-build]" \
	"tests/test_labs.py::test_broken_variant_fails_exactly_its_checks[ml-api-broken/localhost-bind]" \
	"tests/test_labs.py::test_solution_scores_full_marks[first-image]" \
	"tests/test_labs.py::test_solution_scores_full_marks[ds-stack]"
SMOKE_ALONE := tests/test_containment_build.py
test: setup
	@status=0; \
	MASTERY_ENGINE=$(TEST_ENGINE) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not alone" --durations=20 || status=$$?; \
	MASTERY_ENGINE=$(TEST_ENGINE) $(BIN)/python -m pytest -m alone --durations=10 || status=$$?; \
	echo "Smoke pass on the $(SMOKE_ENGINE) engine"; \
	MASTERY_ENGINE=$(SMOKE_ENGINE) $(BIN)/python -m pytest -n 2 $(SMOKE) || status=$$?; \
	MASTERY_ENGINE=$(SMOKE_ENGINE) $(BIN)/python -m pytest -m alone $(SMOKE_ALONE) || status=$$?; \
	exit $$status

# The compose learning environment (compose.yaml) on a machine without a registry: its images built on the
# course's offline bases (the stand-in python:3.13-slim, the course engine's own image), the environment started,
# and the labs' base images copied into its engine. Where images can be pulled: docker compose up --build --wait
environment: images
	@MASTERY_ENGINE_BASE=$$($(BIN)/mastery --engine host engine image) docker compose build
	@MASTERY_PREPARE_IMAGES=0 docker compose up --wait
	@bash environment/seed-images.sh
	@echo "JupyterLab: http://127.0.0.1:$${LAB_PORT:-8888} (its token: docker compose logs lab | grep token=)"
	@echo "Course site: http://127.0.0.1:$${DOCS_PORT:-8008}"

clean:
	@$(BIN)/mastery clean
