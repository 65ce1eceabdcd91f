# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: install demo test test-browser bench bench-check lint docs clean clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,train,research,ray,rllib,torchrl,sb3]"
	touch $(STAMP)

install: $(STAMP)

## The demo: agents trained by `neural-mmo train` (the checkpoint shipped in the package, small
## preset) against the random and scripted policies on held-out maps, then live in the browser
## viewer for DEMO_SECONDS seconds: open the printed address (Ctrl-C stops it sooner).
## `make demo HEADLESS=1` skips the viewer (machines without a browser).
DEMO_SECONDS ?= 120
demo: $(STAMP)
	$(BIN)/neural-mmo eval pretrained --worlds 2
	$(if $(HEADLESS),@echo "HEADLESS: no viewer",$(BIN)/neural-mmo serve --policy pretrained --seconds $(DEMO_SECONDS))

## The browser tests drive Debian's Chromium through Playwright (`executable_path`); Playwright's
## own browsers are never downloaded. CHROMIUM=/path picks another binary. When Chromium is
## missing, .ci/ensure-chromium installs it with apt-get (as root or through `sudo -n`).
CHROMIUM ?= /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
NEED_CHROMIUM = CHROMIUM=$(CHROMIUM) .ci/ensure-chromium

## The whole test suite: the Python tests on two workers (this machine has two cores), then the
## viewer's browser tests (tests_browser/) in one headless Chromium, one test at a time.
test: $(STAMP)
	@$(NEED_CHROMIUM)
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider tests
	NEURAL_MMO_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -p no:cacheprovider tests_browser

## The viewer's browser client alone, in headless Chromium.
test-browser: $(STAMP)
	@$(NEED_CHROMIUM)
	NEURAL_MMO_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -p no:cacheprovider tests_browser

## Throughput on one core (medians; see BENCHMARKS.md).
bench: $(STAMP)
	$(BIN)/neural-mmo bench --preset medium --repeats 5

## Regression guard (not part of `make test`): the compiled step must give the same worlds as the
## same code interpreted, and stay at least --floor times faster than it, measured in one run.
bench-check: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py --preset medium --rounds 3 --ticks 40 --floor 300

lint: $(STAMP)
	$(BIN)/ruff check neural_mmo tests tests_browser benchmarks
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/neural-mmo docs --out docs

## Compiled kernels are cached per version of the sources under ~/.cache/neural_mmo (see
## neural_mmo/_kernel_cache.py); this drops every cached version.
clean-cache:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/neural_mmo"
	find neural_mmo -name '*.nbi' -delete -o -name '*.nbc' -delete

clean:
	rm -rf $(VENV) out build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
