# make report  : install what is missing, regenerate the whole report (PROFILE=default|full|smoke; WEIGHTS=yolov5s.pt
#                starts every run from those weights, into reports/<profile>+<stem>)
# make test    : the test suite (every notebook runs on the smoke profile), under 8 min on 2 cores
# make test-slow: the minutes-long end-to-end checks (marked slow); CI runs both
# make bench   : performance benchmarks (tables under reports/bench/)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= default

.PHONY: install test test-slow report bench lab clean

KERNEL := $(VENV)/share/jupyter/kernels/echo-mtl/kernel.json

install: $(VENV)/.installed $(KERNEL)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# The notebooks' kernel (lib/report/kernel.py), by a name no user kernelspec shadows as it would `python3`
$(KERNEL): $(VENV)/.installed
	$(PY) -m ipykernel install --sys-prefix --name echo-mtl --display-name "Python (echo-mtl)" >/dev/null

test: install
	$(PY) -m pytest -m "not slow"

test-slow: install
	$(PY) -m pytest -m slow

report: install
	$(PY) -m lib.report --profile $(PROFILE) $(if $(WEIGHTS),--weights $(WEIGHTS))

bench: install
	$(PY) -m benchmarks

lab: install
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf reports runs
