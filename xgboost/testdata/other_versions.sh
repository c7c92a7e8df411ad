#!/usr/bin/env bash
# Runs this package's tests against the libxgboost.so of other XGBoost
# versions (the xgboost-cpu wheels from PyPI), with the binary built against
# the system's 1.7 headers: the check that XGBoosterTrainOneIter, resolved at
# run time, is used and works from 2.0 on. By hand, not in CI.
#
# Usage: xgboost/testdata/other_versions.sh [VERSION...]   (default 2.1.4 3.2.0)
# TEST_RUN=regexp limits the tests. Each version also gets a venv with that
# wheel, so TestRefreshPythonCrossCheck compares with the same version.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/xgboost-versions}
mkdir -p "$work"
go test -c -o "$work/xgboost.test" .
status=0
for v in "${@:-2.1.4 3.2.0}"; do
  for v in $v; do
    d="$work/$v"
    if [ ! -e "$d/lib/libxgboost.so.0" ]; then
      mkdir -p "$d/lib"
      pip download --quiet --no-deps --only-binary=:all: "xgboost-cpu==$v" -d "$d"
      (cd "$d" && python3 -m zipfile -e xgboost_cpu-"$v"-*.whl unpacked)
      ln -sf "$d/unpacked/xgboost/lib/libxgboost.so" "$d/lib/libxgboost.so.0"
      /usr/bin/python3 -m venv --system-site-packages "$d/venv"
      "$d/venv/bin/pip" install --quiet --no-deps --no-index "$d"/xgboost_cpu-"$v"-*.whl
    fi
    echo "== libxgboost $v"
    XGBOOST_PYTHON="$d/venv/bin/python" LD_LIBRARY_PATH="$d/lib:$d/unpacked/xgboost_cpu.libs" \
      "$work/xgboost.test" -test.count=1 -test.run "${TEST_RUN:-.}" || status=1
  done
done
exit $status
