#!/usr/bin/env bash
# need_debian_package.sh COMMAND PACKAGE: make sure COMMAND exists; if not, install Debian's
# PACKAGE when running as root (as on CI), or stop with the command to run.
set -euo pipefail
command=$1 package=$2
command -v "$command" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian's $package (for $command)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
else
  echo "error: the tests need $command from Debian's $package: sudo apt-get install $package" >&2
  exit 1
fi
