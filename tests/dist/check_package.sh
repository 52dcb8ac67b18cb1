#!/bin/bash
# The .deb scripts/package built, unpacked (not installed): the binary prints
# the package's version, the man page, completion, unit, rules, dashboard and
# README are where Debian looks for them, the maintainer script creates the
# tcpscope user, and the dependencies came from dpkg-shlibdeps.
# Usage: check_package.sh DEB
set -euo pipefail
deb=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
problem() { echo "package: $*" >&2; fail=1; }

dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
version=$(dpkg-deb -f "$deb" Version)
[[ $("$work/root/usr/sbin/tcpscope" --version) == "tcpscope $version" ]] ||
  problem "--version does not print $version"
for f in usr/share/man/man8/tcpscope.8.gz lib/systemd/system/tcpscope.service \
  usr/share/bash-completion/completions/tcpscope \
  usr/share/tcpscope/prometheus/tcpscope-rules.yml usr/share/tcpscope/grafana/tcpscope.json \
  usr/share/doc/tcpscope/README.md.gz usr/share/doc/tcpscope/copyright; do
  [[ -e $work/root/$f ]] || problem "no /$f"
done
grep -q "ExecStart=/usr/sbin/tcpscope serve" "$work/root/lib/systemd/system/tcpscope.service" ||
  problem "the unit does not start /usr/sbin/tcpscope serve"
man -l "$work/root/usr/share/man/man8/tcpscope.8.gz" 2>/dev/null | grep -q "tcpscope listen" ||
  problem "the man page does not render"
grep -q "adduser --system" "$work/control/postinst" || problem "postinst makes no tcpscope user"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libbpf1 libcap2 adduser; do
  [[ $depends == *"$lib"* ]] || problem "Depends lacks $lib: $depends"
done
((fail == 0)) && echo "package: $deb ($version) checked"
exit $fail
