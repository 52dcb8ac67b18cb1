#!/bin/bash
# The Prometheus rules: valid (`promtool check rules`) and doing what their
# unit tests say (`promtool test rules`). Usage: check_rules.sh DIR
set -euo pipefail
dir=$1
command -v promtool >/dev/null || { echo "promtool is missing (scripts/setup installs prometheus)" >&2; exit 1; }
promtool check rules "$dir/tcpscope-rules.yml"
cd "$dir"
promtool test rules tcpscope-rules.test.yml
