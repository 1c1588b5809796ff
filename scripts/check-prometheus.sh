#!/usr/bin/env bash
# The shipped Prometheus and Alertmanager configuration, checked the way the ecosystem checks it.
set -euo pipefail
cd "$(dirname "$0")/../prometheus"
promtool check config --syntax-only prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/*.yml
amtool check-config alertmanager.yml
