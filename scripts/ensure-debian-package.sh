#!/usr/bin/env bash
# Makes sure a Debian package the tests need is on the machine (installing it as root), or says
# what to install. Usage: ensure-debian-package.sh PACKAGE 'PROBE' OVERRIDE_ENV WHY
#   PROBE         a shell test that succeeds when the package's binaries are there
#   OVERRIDE_ENV  an environment variable that, when set, points the tests elsewhere
set -euo pipefail
package="$1" probe="$2" override="$3" why="$4"
if eval "$probe" || [ -n "${!override:-}" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's $package package for $why" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  exit 0
fi
echo "$package not found: install Debian's '$package' package (sudo apt-get install $package), or set $override" >&2
exit 1
