#!/bin/sh
# install-deps.sh - install the Debian packages tilepaint needs to build and
# test, only those missing. Idempotent; silent when everything is there.
# Usage: scripts/install-deps.sh [extra-package ...]
set -eu

PKGS="build-essential pkg-config libtiff-dev libpng-dev libjpeg62-turbo-dev \
libsqlite3-dev libfftw3-dev libopenblas-dev zlib1g-dev libxxhash-dev libcmocka-dev sqlite3 groff-base"

missing=""
for p in $PKGS "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	$SUDO apt-get update -qq >&2
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
