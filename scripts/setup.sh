#!/usr/bin/env bash
# Installs what Selfheal needs on this machine, and only what is missing:
#   - Debian packages: prometheus (with promtool), prometheus-alertmanager (with amtool), chromium
#     (panel browser tests and the demo's PNG charts), python3-sklearn (the reference in tests and benchmarks),
#     postgresql (the healing service's PostgreSQL store in tests and benchmarks; not for the demo);
#   - the npm workspace packages, then builds the TypeScript packages.
# Usage: scripts/setup.sh [demo|test|bench]   (what the packages are needed for; default: test)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-test}

missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if [[ $purpose != demo ]]; then
  /usr/bin/python3 -c 'import sklearn, numpy' >/dev/null 2>&1 || missing+=(python3-sklearn)
  # The healing service's PostgreSQL store: tests and the benchmark start their own server (initdb, pg_ctl).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
fi

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -q
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: missing Debian packages and not root. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# kubectl (its built-in kustomize builds deploy/kubernetes in test/kubernetes-manifests.test.ts) is not a Debian package
# recent enough (kubernetes-client 1.20 has no kustomize components): say so here, the test fails without it.
if [[ $purpose == test ]] && ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl is not installed: test/kubernetes-manifests.test.ts needs kubectl 1.21 or newer (\`kubectl kustomize\`) and fails without it" >&2
fi

# npm packages, when node_modules is absent or older than the lockfile: `npm ci`, exactly the locked versions. The
# committed package-lock.json records every platform's optional packages (rollup's, esbuild's), so npm ci accepts it
# and a later `npm install` leaves it unchanged (test/npm-lockfile.test.ts). A lockfile out of sync with a
# package.json (a dependency changed without `npm install`) is refused by npm ci: then `npm install`, which updates it.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  if check=$(npm ci --dry-run --ignore-scripts --no-audit --no-fund 2>&1); then
    echo "setup: installing npm packages (npm ci)"
    npm ci --no-audit --no-fund
  elif grep -q 'EUSAGE' <<<"$check"; then
    echo "setup: package-lock.json is out of sync with the package.json files, which npm ci refuses:" >&2
    grep -m 5 -E 'Missing|Invalid|in sync' <<<"$check" >&2 || true
    echo "setup: installing with npm install instead, which updates package-lock.json: review it and commit it" >&2
    npm install --no-audit --no-fund
  else
    echo "$check" >&2
    echo "setup: npm could not check package-lock.json (above); nothing installed" >&2
    exit 1
  fi
fi

echo "setup: building"
npm run --silent build
