#!/usr/bin/env bash
# `npm run demo`: installs what is missing (Debian packages, npm packages, the build), then runs the closed-loop
# demo on 127.0.0.1 (demo/README.md). Extra arguments go to `selfheal demo`, e.g. `npm run demo -- --keep-running`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec node cli/bin/selfheal.js demo "$@"
