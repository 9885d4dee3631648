# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both create the virtualenv, install Debian packages that are missing (as root, or say which
# to install) and start PostgreSQL, Mosquitto and Redis on loopback under .local/.

# Everything make runs is development: each install makes its own secrets under .local/
# (homeloop/settings.py). A production process needs its secrets given to it.
export HOMELOOP_ENV ?= development

VENV := .venv
BIN := $(VENV)/bin
HOMELOOP := $(BIN)/homeloop

.PHONY: install services check test demo down clean bench

$(VENV)/.installed: pyproject.toml scripts/bootstrap
	scripts/bootstrap
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The Khronos glTF-Validator (ar_assets/validate.cjs), glTF Transform with the meshopt and
# Draco decoders (ar_assets/decode.cjs) and three's Basis Universal transcoder
# (ar_assets/ktx2.cjs), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The room designer's web client (three.js, model-viewer and its decoders, qrcode, the Chinese
# web font), pinned by its own lockfile and built into web/kiosk/dist, which the API serves at
# /kiosk/.
WEB := web/kiosk
$(WEB)/dist/.built: $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/build.mjs $(wildcard $(WEB)/src/* $(WEB)/src/*/*)
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $@

install: $(VENV)/.installed node_modules/.installed $(WEB)/dist/.built

services: install
	$(HOMELOOP) services up

check: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# --instants: the time-sensitive tests run again at each fixed instant of tests/clock.py.
test: services check
	$(BIN)/pytest --instants

demo: services
	$(HOMELOOP) demo

bench: services
	$(HOMELOOP) bench ingest

down:
	$(HOMELOOP) services down

clean: down
	rm -rf .local $(VENV)
