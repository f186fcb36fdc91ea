#!/bin/sh
# Installs Debian's Chromium for the browser tests when it is missing (Playwright drives it;
# no browser is downloaded by Playwright itself).
set -e
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
