#!/bin/bash
# The systemd unit: every directive known to this systemd (`verify` only
# warns about unknown ones, so any output fails), and its exposure score
# within the README's figure. Usage: check_unit.sh UNIT.in BINARY
set -euo pipefail
unit_in=$1 binary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|@TCPSCOPE_SBIN_DIR@/tcpscope|$binary|" "$unit_in" >"$work/tcpscope.service"
if ! out=$(systemd-analyze verify "$work/tcpscope.service" 2>&1) || [[ -n $out ]]; then
  echo "systemd-analyze verify: ${out:-failed}" >&2
  exit 1
fi
score=$(systemd-analyze security --offline=true "$work/tcpscope.service" 2>&1 |
  sed -n 's/.*Overall exposure level for tcpscope.service: \([0-9.]*\).*/\1/p')
echo "exposure score: ${score:-unknown}"
# The README states 2.9; a change that weakens the unit must update both.
systemd-analyze security --offline=true --threshold=29 "$work/tcpscope.service" >/dev/null
