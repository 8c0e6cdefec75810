#!/usr/bin/env bash
# The test suite on every dolfinx generation anodex supports: Debian 12
# natively (0.5.2) runs all of it (`make test`: serial, then 2 ranks);
# Debian 13 (0.9) and Debian unstable (newest packaged), in chroots
# (tools/debian-chroot.sh), run `make test-compat` (Makefile: the tests
# that run in one process without the `slow` verification runs, plus the
# `compat` 1-vs-2-rank comparisons).
# A chroot that cannot be built prints SKIPPED with the reason; every leg
# that was built must pass.  Ends with one summary line per leg.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
logs="$(mktemp -d)"
suites=(trixie sid)
declare -A label=([trixie]="Debian 13 (trixie, chroot)" [sid]="Debian unstable (sid, chroot)")

# Chroot packages are network-bound: fetch them while the native leg runs.
declare -A prep
for s in "${suites[@]}"; do
  tools/debian-chroot.sh "$s" true >"$logs/$s.prepare.log" 2>&1 &
  prep[$s]=$!
done

summary=()
closing() {  # the pytest closing lines of a leg's log, colour codes removed
  sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -aE '^(=+ )?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed|error)' \
    | sed 's/^=* *//; s/ *=*$//' | awk '!seen[$0]++' | paste -sd';' -
}
leg() {  # name, log, exit code
  local dv; dv="$(grep -aoE '^\[test\] dolfinx [^ ]+' "$2" | head -n1 | cut -d' ' -f3)"
  if [ "$3" -eq 0 ]; then summary+=("PASSED  $1, dolfinx ${dv:-?}: $(closing "$2")")
  else summary+=("FAILED  $1, dolfinx ${dv:-?} (exit $3): $(closing "$2")"); fi
}

status=0
echo "=== leg: Debian 12 (native)"
make --no-print-directory test 2>&1 | tee "$logs/native.log"
rc=${PIPESTATUS[0]}; leg "Debian 12 (native)" "$logs/native.log" "$rc"; ((rc == 0)) || status=1

for s in "${suites[@]}"; do
  echo "=== leg: ${label[$s]}"
  wait "${prep[$s]}"; rc=$?
  if ((rc == 3)); then
    why="$(grep -av '^\[chroot\]' "$logs/$s.prepare.log" | tail -n 3 | paste -sd' ' -)"
    summary+=("SKIPPED ${label[$s]}: could not be built: ${why:-see log}")
    cat "$logs/$s.prepare.log"
    continue
  fi
  tools/debian-chroot.sh "$s" make --no-print-directory test-compat 2>&1 | tee "$logs/$s.log"
  rc=${PIPESTATUS[0]}
  if ((rc == 3)); then
    summary+=("SKIPPED ${label[$s]}: could not be built (see log above)")
    continue
  fi
  leg "${label[$s]}" "$logs/$s.log" "$rc"; ((rc == 0)) || status=1
done

echo
echo "=== dolfinx generations"
printf '%s\n' "${summary[@]}"
rm -rf "$logs"
exit $status
