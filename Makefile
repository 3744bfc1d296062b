# Two commands matter: `make dev` and `make test`. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test lint package bench docs screenshots clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m letterbox.local.devserver

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

package: $(STAMP)
	rm -rf build
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/chalice package --stage prod \
		--merge-template infra/resources.yaml build/
	$(BIN)/cfn-lint build/sam.yaml

docs: $(STAMP)
	$(BIN)/python -m letterbox.docs

# The README's dashboard images, taken in Debian's Chromium by the browser tests.
screenshots: $(STAMP)
	LETTERBOX_SCREENSHOTS_DIR=docs $(BIN)/python -m pytest -p no:xdist -q \
		tests/browser/test_dashboard_browser.py -k screenshots

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build .letterbox
