# provisioner: every target works from a fresh clone; `make install` is implied.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= examples/identity-center-admin.yaml
ARGS   ?=

.PHONY: install test lint demo plan apply destroy endpoint bench mutants clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install provisioner with its dev tools

test: $(STAMP)  ## run the test suite against moto (no AWS needed)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)  ## ruff, mypy, and yamllint on the CI recipes
	$(BIN)/ruff check provisioner tests scripts
	$(BIN)/mypy
	$(BIN)/yamllint --strict -d default examples/ci

demo: $(STAMP)  ## bootstrap the seed scenario against a local moto endpoint, then plan again
	$(BIN)/python scripts/demo.py

plan: $(STAMP)  ## provisioner plan -f $(CONFIG) (real AWS: set AWS_PROFILE and AWS_REGION)
	$(BIN)/provisioner plan -f $(CONFIG) $(ARGS)

apply: $(STAMP)  ## provisioner apply -f $(CONFIG)
	$(BIN)/provisioner apply -f $(CONFIG) $(ARGS)

destroy: $(STAMP)  ## provisioner destroy -f $(CONFIG): deletes what CONFIG declares (asks first; ARGS=--yes to skip)
	$(BIN)/provisioner destroy -f $(CONFIG) $(ARGS)

endpoint: $(STAMP)  ## run the local moto endpoint with the realism layer until Ctrl-C
	$(BIN)/python scripts/moto_endpoint.py $(ARGS)

bench: $(STAMP)  ## scenarios against the realism endpoint, each against its bound (about two minutes)
	$(BIN)/python scripts/bench.py $(ARGS)

mutants: $(STAMP)  ## mutation testing (cosmic-ray) of retry, aws, runner, quotas: survivors and rate (about an hour on 2 cores)
	$(BIN)/python scripts/mutants.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
