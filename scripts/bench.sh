#!/usr/bin/env bash
# `npm run bench`: every package's benchmarks, figures printed (and written under bench-results/ where a package
# keeps them). Benchmarks compare against a reference measured in the same run and report targets as MET / NOT MET;
# they fail only when a benchmark itself breaks. Each package runs even when an earlier one broke.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench || exit 1
mkdir -p bench-results
broken=()
for ws in exporter webhook grafana-plugin demo; do
  if node -e "process.exit(require('./$ws/package.json').scripts?.bench ? 0 : 1)"; then
    echo; echo "######## npm run bench -w $ws"
    npm run bench -w "$ws" || broken+=("$ws")
  fi
done
if ((${#broken[@]})); then
  echo "bench: broken in: ${broken[*]}" >&2
  exit 1
fi
