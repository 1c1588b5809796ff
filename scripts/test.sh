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
# setup installed PostgreSQL: its tests (webhook/test/postgres-store.test.ts, test/healing-ha.test.ts) must run, and
# fail rather than skip when it is missing (a green run must have exercised them).
export SELFHEAL_REQUIRE_POSTGRES=1
mkdir -p .tmp && rm -f .tmp/vitest-report.json .tmp/vitest-closed-loop.json
status=0
# The closed-loop end-to-end test (test/closed-loop.test.ts) runs last and alone: it drives a CPU-burning workload
# and times detection, so it must not share the CPUs with the other suites. SELFHEAL_E2E_CLOSED_LOOP=0 leaves it
# out (a quicker run while working on something else); `npm run test:closed-loop` runs it alone.
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?
if [ "$#" -eq 0 ] && [ "${SELFHEAL_E2E_CLOSED_LOOP:-1}" != 0 ]; then
  echo "== the closed loop, end to end (test/closed-loop.test.ts, ~6 min)"
  SELFHEAL_E2E_CLOSED_LOOP=1 npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.tmp/vitest-closed-loop.json test/closed-loop.test.ts || status=$?
fi
# A closing line in the plain form CI and humans read the same way.
node -e '
  const fs = require("fs");
  const reports = [".tmp/vitest-report.json", ".tmp/vitest-closed-loop.json"].filter((f) => fs.existsSync(f)).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  const sum = (k) => reports.reduce((n, r) => n + r[k], 0);
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
' || true
exit $status
