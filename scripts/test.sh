#!/usr/bin/env bash
# The test command README.md gives (`npm test`): installs what is missing, then runs every check:
# typecheck+build, lint, the Prometheus/Alertmanager config checks (promtool/amtool), and all vitest projects
# (unit tests, end-to-end tests against real Prometheus and Alertmanager, the panel in a real browser).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test
echo "== lint"
npx eslint --cache .
echo "== prometheus/alertmanager configs"
bash scripts/check-prometheus.sh
echo "== tests"
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?
# A closing line in the plain form CI and humans read the same way.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-report.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $status
