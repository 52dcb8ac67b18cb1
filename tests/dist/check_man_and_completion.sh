#!/bin/bash
# The man page and the bash completion against the CLI itself: every command
# has a section, every flag of every command's --help is in the man page and
# in that command's completion list (and the list has nothing else), every
# exit code of cli/exit_codes.h is in EXIT STATUS, and the page renders.
# Usage: check_man_and_completion.sh BINARY MAN.scd COMPLETION EXIT_CODES.h
set -euo pipefail
binary=$1 man=$2 completion=$3 codes=$4
fail=0
problem() { echo "$*" >&2; fail=1; }

flags_of() { # the flags a --help lists, one per line
  "$binary" "$1" --help | sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n'
}
commands=$("$binary" --help | sed -n '/^Subcommands:/,$ s/^  \([a-z]\+\) .*/\1/p')
[[ -n $commands ]] || problem "no commands in tcpscope --help"
for cmd in $commands; do
  grep -qx "## $cmd" "$man" || problem "man page: no section for $cmd"
  listed=$(sed -n "s/^ *$cmd) words=\"\(.*\)\" ;;/\1/p" "$completion" | tr ' ' '\n' | sort -u)
  [[ -n $listed ]] || problem "completion: no word list for $cmd"
  actual=$(flags_of "$cmd" | sort -u)
  for flag in $actual; do
    grep -qF -- "*$flag*" "$man" || problem "man page: $cmd's $flag is missing"
  done
  if [[ $listed != "$actual" ]]; then
    problem "completion for $cmd differs from its --help: $(diff <(echo "$listed") <(echo "$actual") | grep '^[<>]' | tr '\n' ' ')"
  fi
done
grep -qF -- "*--version*" "$man" || problem "man page: --version is missing"
status=$(sed -n '/^# EXIT STATUS/,/^# /p' "$man")
for code in $(sed -n 's/.*constexpr int k[A-Za-z]* = \([0-9]\+\);.*/\1/p' "$codes"); do
  grep -qx "\*$code\*" <<<"$status" || problem "man page: exit code $code is not in EXIT STATUS"
done
if command -v scdoc >/dev/null; then
  scdoc <"$man" >/dev/null || problem "scdoc cannot render $man"
else
  problem "scdoc is missing (scripts/setup installs it)"
fi
exit $fail
