#!/usr/bin/env bash
# Install the Debian packages named on the command line that are not
# installed yet, one apt-get at a time.
#
#   tools/apt-install.sh PACKAGE...
#
# `make test-versions` prepares both chroots (each installing debootstrap on
# the host) while the native leg's set-up installs its own packages, and
# apt-get does not wait for another apt-get: the loser stops with "Could not
# get lock /var/lib/apt/lists/lock" (a fresh machine's Debian 13 leg was
# SKIPPED that way).  So every apt-get of anodex's scripts runs under one
# flock(1), and a second caller waits instead.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
echo "[setup] installing Debian packages: ${missing[*]}"
# The lock is dpkg's directory: it exists wherever apt does (host or
# chroot), and flock on it creates no file.  apt's own locks are fcntl locks
# on files inside it, independent of this one.
$sudo_ flock /var/lib/dpkg sh -c '
  apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"' sh "${missing[@]}"
