#!/usr/bin/env bash
# One device check, under 8 minutes on one GPU: the CUDA-marked tests, then the measurements
# (benchmarks/device_check.py: every method's step time vs Fixed at yolov5s / 640 px / AMP, images per
# second, peak GPU memory, GradNorm's overhead, the gpu profile's predicted wall time) into one JSON file.
#
#   bash benchmarks/device_check.sh                 # CUDA machine; JSON at reports/bench/device_check.json
#   bash benchmarks/device_check.sh --cpu           # tiny sizes on the CPU, no CUDA tests (run by make test)
#   bash benchmarks/device_check.sh --amp fp16 --out /tmp/check.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
if [[ " $* " != *" --cpu "* ]]; then
  if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "error: no CUDA device; use --cpu for the CPU check" >&2
    exit 2
  fi
  "$PY" -m pytest -m cuda -q -p no:cacheprovider tests
fi
exec "$PY" -m benchmarks.device_check "$@"
