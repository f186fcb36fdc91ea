#!/bin/sh
# Installs what the tests drive when it is missing: Debian's Chromium (Playwright drives it; no
# browser is downloaded by Playwright itself), Noto CJK so that pages, screenshots and PDFs render
# Chinese text (without it Chromium draws boxes and line widths are wrong), and LibreOffice Writer
# (headless, no GUI) + poppler-utils, which turn an exported handout into a PDF and PNG pages.
set -e
PACKAGES=""
[ -x /usr/bin/chromium ] || PACKAGES="$PACKAGES chromium"
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || PACKAGES="$PACKAGES fonts-noto-cjk"
command -v soffice >/dev/null 2>&1 || PACKAGES="$PACKAGES libreoffice-writer-nogui"
command -v pdftoppm >/dev/null 2>&1 || PACKAGES="$PACKAGES poppler-utils"
if [ -n "$PACKAGES" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
fi
/usr/bin/chromium --version
soffice --version
