#!/usr/bin/env bash
# `npm run bench`: every package's benchmarks, figures printed (and written under bench-results/).
# Benchmarks compare against a reference measured in the same run; they assert nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench
mkdir -p bench-results
npm run --workspaces --if-present bench
