#!/usr/bin/env bash
# The README quickstart end to end, as scripts/test.sh runs it: start it in a temporary
# directory with the debug build (quickstart.sh exits non-zero when develop does not reach
# 1.1.0 or production is not promoted in time), check that a second start is refused while it
# runs, stop it, and check that nothing it started is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
cleanup() {
  scripts/quickstart.sh stop --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

started=$SECONDS
GANTRY_PROFILE=debug scripts/quickstart.sh --dir "$dir"
grep -q 'tag: 1.1.0' <(git --git-dir "$dir/git/repos/gitops.git" show main:develop/frontend/instance.yaml)
grep -q 'tag: 1.1.0' <(git --git-dir "$dir/git/repos/gitops.git" show main:production/frontend/instance.yaml)

if GANTRY_PROFILE=debug scripts/quickstart.sh --dir "$dir" 2>/dev/null; then
  echo "error: a second quickstart started while one was running" >&2
  exit 1
fi

pids=$(cat "$dir"/pids/*.pid)
[ "$(echo "$pids" | wc -w)" -eq 4 ] || { echo "error: expected 4 recorded processes, got: $pids" >&2; exit 1; }
scripts/quickstart.sh stop --dir "$dir"

# Nothing may be left: neither the recorded processes nor any member of their process groups
# (zombies aside: they run nothing, and the machine's init may not reap them).
left=()
for stat in /proc/[0-9]*/stat; do
  { read -r line <"$stat"; } 2>/dev/null || continue
  read -r state _ pgrp _ <<<"${line##*) }"
  [ "$state" != Z ] || continue
  for pid in $pids; do
    pid_of_stat=${stat#/proc/}
    if [ "$pgrp" = "$pid" ] || [ "${pid_of_stat%/stat}" = "$pid" ]; then left+=("${pid_of_stat%/stat}"); fi
  done
done
if [ ${#left[@]} -gt 0 ]; then
  echo "error: still running after stop: ${left[*]}" >&2
  exit 1
fi
echo "quickstart check passed in $((SECONDS - started)) s (build included)"
