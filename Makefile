# Two commands for everything: `make course` opens the course, `make test` runs every test.
# Both set up what is missing first (Docker Engine, Python environment, base images, the docs site).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OFFLINE ?=

.PHONY: setup course test engine venv images site clean

setup: engine venv images site

engine:
	@bash scripts/bootstrap-engine.sh

$(BIN)/mastery: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@test -x $(BIN)/mastery

venv: $(BIN)/mastery

images: venv
	@$(BIN)/mastery images prepare $(if $(OFFLINE),--offline,)

site: venv
	@$(BIN)/python -m mkdocs build --strict --quiet

course: setup
	@bash scripts/course.sh

test: setup
	$(BIN)/python -m pytest

clean:
	@$(BIN)/mastery clean
