# Two commands matter: `make dev` and `make test`. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test lint lock check-install package bench docs fuzz screenshots clean

# requirements-dev.lock pins every package, transitive ones too; `make lock` regenerates it.
$(STAMP): requirements.txt requirements-dev.txt requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m letterbox.local.devserver

test: lint check-install
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# After editing requirements.txt or requirements-dev.txt: pin the whole tree again.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file requirements-dev.lock requirements-dev.txt

# A plain (non-editable) install imports every package of the source tree: the wheel goes
# into build/check-install, which comes first on the path (the dependencies are .venv's).
check-install: $(STAMP)
	rm -rf build/check-install build/lib  # setuptools would reuse a stale build/lib
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--target build/check-install .
	cd build && PYTHONPATH=check-install ../$(BIN)/python ../tests/install_check.py ..

package: $(STAMP)
	rm -rf build
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/chalice package --stage prod \
		--merge-template infra/resources.yaml build/
	$(BIN)/cfn-lint build/sam.yaml

# schemathesis against the local stack (loopback only): longer than the bounded run in `make test`.
fuzz: $(STAMP)
	LETTERBOX_FUZZ_EXAMPLES=$${LETTERBOX_FUZZ_EXAMPLES:-30} LETTERBOX_FUZZ_SECONDS=$${LETTERBOX_FUZZ_SECONDS:-240} \
		$(BIN)/python -m pytest -p no:xdist -s tests/e2e/test_fuzz.py

docs: $(STAMP)
	$(BIN)/python -m letterbox.docs

# The dashboard images of the README and docs/dashboard.md, taken in Debian's Chromium by the browser tests.
screenshots: $(STAMP)
	LETTERBOX_SCREENSHOTS_DIR=docs $(BIN)/python -m pytest -p no:xdist -q \
		tests/browser/test_dashboard_browser.py tests/browser/test_dashboard_pages.py \
		tests/browser/test_marketing_pages.py \
		-k "screenshots or test_dashboard_pages or test_marketing_pages"

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build .letterbox

# From a fresh AWS account: package, upload, CloudFormation change set, post-deploy steps.
#   make deploy STACK=letterbox-prod BUCKET=my-artifacts PUBLIC_BASE_URL=https://mail-api.acme.com
.PHONY: deploy
deploy: package
	$(BIN)/python -m letterbox.deploy --stack $(STACK) --bucket $(BUCKET) \
		--parameter PublicBaseUrl=$(PUBLIC_BASE_URL) $(foreach p,$(PARAMETERS),--parameter $(p))
