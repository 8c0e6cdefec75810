#!/usr/bin/env bash
# Run a command on this project tree inside a Debian chroot of another suite
# (other dolfinx generation), built from Debian's own archive.
#
#   tools/debian-chroot.sh SUITE [COMMAND...]     (default COMMAND: make test)
#
# SUITE: trixie (Debian 13, dolfinx 0.9), sid (unstable, newest packaged
# dolfinx), or any suite debootstrap knows.  Needs root.  The chroot lives in
# $ANODEX_CHROOT_DIR/SUITE (default /var/cache/anodex/chroots/SUITE) and is
# reused once it has built; a fresh copy of the tracked project files goes to
# /anodex inside it each time, and COMMAND runs there -- `make test` is the
# README's test command, so the chroot installs its own packages and venv
# exactly as a fresh machine of that suite would.
#
# Before COMMAND, the Debian packages of tools/setup.sh are installed in the
# chroot (once; later runs only check them).
# Exit codes: COMMAND's own; 3 when the chroot cannot be built or its
# packages cannot be installed (archive unreachable, suite not installable
# today) -- tools/test-versions.sh prints that leg as SKIPPED with the reason.
set -euo pipefail
suite="${1:?usage: tools/debian-chroot.sh SUITE [COMMAND...]}"
shift
[ $# -gt 0 ] || set -- make test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${ANODEX_CHROOT_DIR:-/var/cache/anodex/chroots}/$suite"
sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"

# The mirror this machine's apt already uses (deb822 or one-line sources).
mirror="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
            /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
          | head -n1 | grep -oE 'https?://[^ ]+' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

# What the chroot needs before the project's own set-up runs in it.
base_pkgs=make,ca-certificates,python3,python3-venv

build() {
  command -v debootstrap >/dev/null || bash "$here/tools/apt-install.sh" debootstrap || return 3
  $sudo_ rm -rf "$root"
  $sudo_ mkdir -p "$root"
  echo "[chroot] debootstrap $suite from $mirror into $root"
  $sudo_ debootstrap --variant=minbase --include="$base_pkgs" "$suite" "$root" "$mirror" \
    >"$root.debootstrap.log" 2>&1 || { tail -n 20 "$root.debootstrap.log" >&2; return 3; }
  # unstable's Release files carry a Valid-Until of a week; a mirror that
  # serves a dated snapshot (as this machine's does) would be refused by apt
  echo 'Acquire::Check-Valid-Until "false";' \
    | $sudo_ tee "$root/etc/apt/apt.conf.d/99anodex-valid-until" >/dev/null
  $sudo_ touch "$root/.anodex-built"
}

mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m="${mounted[$i]}"
    $sudo_ umount -R "$m" 2>/dev/null || $sudo_ umount -lR "$m" 2>/dev/null || true
  done
}
trap cleanup EXIT

bind() {  # bind a host directory into the chroot, private to it
  $sudo_ mkdir -p "$root$1"
  $sudo_ mount --rbind "$1" "$root$1"
  $sudo_ mount --make-rslave "$root$1"
  mounted+=("$root$1")
}

# One run per chroot at a time: two builds of one suite into the same
# directory broke each other (seen: CI's preparation beside one started by
# hand), and every run replaces the tree in /anodex.  A second run waits.
if [ -z "$sudo_" ] && command -v flock >/dev/null; then
  mkdir -p "$(dirname "$root")"
  exec 9>"$root.lock"
  flock 9 || { echo "[chroot] $suite: cannot lock $root.lock" >&2; exit 3; }
fi

[ -f "$root/.anodex-built" ] || build || exit 3
bind /proc; bind /sys; bind /dev
$sudo_ cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# A fresh copy of the tracked tree (plus uncommitted edits), never the host's
# .venv or runs/.
$sudo_ rm -rf "$root/anodex"
$sudo_ mkdir -p "$root/anodex"
(cd "$here" && git ls-files -z --cached --others --exclude-standard \
   | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
   | tar --null -T - -cf -) | $sudo_ tar -xf - -C "$root/anodex"

# The suite's FEniCSx packages (idempotent): failing here means the archive
# or the suite, not the project, so it counts as "cannot be built".
if ! $sudo_ env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
     ANODEX_PARAVIEW=no chroot "$root" bash /anodex/tools/setup.sh --debs-only >"$root.packages.log" 2>&1; then
  tail -n 20 "$root.packages.log" >&2
  echo "[chroot] $suite: the suite's packages could not be installed" >&2
  exit 3
fi

echo "[chroot] $suite: running '$*' in /anodex"
set +e
$sudo_ env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 CI="${CI:-}" ANODEX_PARAVIEW=no chroot "$root" /bin/bash -c 'cd /anodex && "$@"' bash "$@"
rc=$?
set -e
exit $rc
