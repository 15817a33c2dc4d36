#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (a browser download is not possible here).
set -eu
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
