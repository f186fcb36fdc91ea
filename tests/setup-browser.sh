#!/bin/sh
# Installs Debian's Chromium for the browser tests when it is missing (Playwright drives it;
# no browser is downloaded by Playwright itself), and Noto CJK so that pages and screenshots
# render Chinese text (without it Chromium draws boxes and line widths are wrong).
set -e
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
MISSING=""
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || MISSING="$MISSING fonts-noto-cjk"
if [ -n "$MISSING" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
/usr/bin/chromium --version
