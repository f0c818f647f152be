# One command to set up and run the demo, one to set up and run the tests.
#   make demo   – install the locked environment, run wave 2015 on the bundled synthetic data
#   make test   – install the locked environment (and Chromium for browser tests), run all tests
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV_HOME := .cache/uv-bootstrap
UV := $(UV_HOME)/bin/uv
VENV := .venv

.PHONY: setup setup-browser demo run test ui validate-definitions audit sbom clean

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Byte-code for the installed packages and for this project's own modules (this machine's Python
# may run with PYTHONDONTWRITEBYTECODE; without the .pyc files every run compiles them again).
setup: $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet
	$(VENV)/bin/python -m compileall -q -j 0 assets pipelines
	$(VENV)/bin/python -c "from pipelines.instance_home import prepare_instance; prepare_instance()"

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
setup-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(VENV)/bin/htna demo

run: setup
	$(VENV)/bin/htna run

test: setup setup-browser
	$(VENV)/bin/python -m pytest -q

ui: setup
	$(VENV)/bin/htna ui

validate-definitions: setup
	$(VENV)/bin/dagster definitions validate -w workspace.yaml

# Known vulnerabilities in the locked versions (pip-audit over the exported lock file, hashes checked).
# Offline, `make sbom` writes the same inventory as a CycloneDX SBOM for any scanner. `make audit` needs the
# advisory services (pypi.org's JSON API per version, or api.osv.dev with AUDIT_SERVICE=osv).
AUDIT_SERVICE ?= pypi
audit: $(UV)
	mkdir -p build
	$(UV) export --frozen --format requirements-txt --no-emit-project --quiet > build/requirements.lock.txt
	$(UV) run --frozen --only-group audit --python $(PYTHON) pip-audit --strict --disable-pip --require-hashes \
	  --vulnerability-service $(AUDIT_SERVICE) -r build/requirements.lock.txt

# A CycloneDX 1.5 SBOM of the locked environment (every package of uv.lock with its version, purl and the
# SHA-256 of each distribution), written offline from the lock file: any scanner can check it later.
# The tests check its format against the CycloneDX schema (tests/unit/test_sbom.py).
SBOM := build/sbom.cdx.json
sbom: $(UV)
	mkdir -p build
	UV_OFFLINE=1 $(UV) export --frozen --format cyclonedx1.5 --quiet --output-file $(SBOM)
	@echo "SBOM written: $(SBOM)"

clean:
	rm -rf build .pytest_cache
