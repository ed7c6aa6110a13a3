#!/usr/bin/env bash
# Install the real external clients the "client" tests need, from Debian's apt:
#   QGIS (PyQGIS for the SYSTEM /usr/bin/python3), headless Chromium,
#   PostgreSQL + PostGIS, GDAL command-line tools (+ python3-gdal), poppler-utils (pdftotext, pdftoppm).
#
# Usage:  bash .ci/install-clients.sh
#   SPATIALPROG_CLIENTS="qgis chromium postgis gdal"   subset to install (default: all)
#   SPATIALPROG_QGIS_DESKTOP=1                        also the 'qgis' package (qgis_process CLI)
#
# Idempotent: when every package is already installed it does nothing (no apt-get update).
# Never fails the build for a reason outside our control: not root or no apt-get
# -> prints why and exits 0 (the client tests then skip with their own reason).
set -euo pipefail

log() { printf '[install-clients] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "SKIP: not root (uid $(id -u)); client tests will be skipped"; exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    log "SKIP: no apt-get/dpkg on this machine; client tests will be skipped"; exit 0
fi

export DEBIAN_FRONTEND=noninteractive
clients="${SPATIALPROG_CLIENTS:-qgis chromium postgis gdal}"
start=$(date +%s)

is_installed() {  # all given packages installed?
    local p
    for p in "$@"; do
        dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || return 1
    done
}

updated=0
apt_update() {
    [ "$updated" = 1 ] && return 0
    log "apt-get update"
    local i
    for i in 1 2 3; do
        if apt-get update -q -o Dpkg::Use-Pty=0 >/dev/null; then updated=1; return 0; fi
        log "apt-get update failed (try $i), retrying"; sleep $((i * 5))
    done
    apt-get update -q   # last try, with its error shown; set -e fails the script
    updated=1
}

# The PostGIS package is per server major version (bookworm: postgresql-15-postgis-3).
# Sets PG_MAJOR (not echoed: apt_update must run in this shell, not a subshell).
PG_MAJOR=
pg_major() {
    [ -n "$PG_MAJOR" ] && return 0
    local v
    v=$(dpkg-query -W -f '${Depends}' postgresql 2>/dev/null | grep -o 'postgresql-[0-9]\+' | head -n1 || true)
    if [ -z "$v" ]; then
        if [ -z "$(apt-cache depends postgresql 2>/dev/null | grep -o 'postgresql-[0-9]\+' | head -n1 || true)" ]; then
            apt_update
        fi
        v=$(apt-cache depends postgresql 2>/dev/null | grep -o 'postgresql-[0-9]\+' | head -n1 || true)
    fi
    [ -n "$v" ] || { log "cannot tell PostgreSQL major version from apt"; exit 1; }
    PG_MAJOR="${v#postgresql-}"
}

pkgs=()
for c in $clients; do
    case "$c" in
        # python3-qgis pulls qgis-providers + libqgis-*; the 'qgis' desktop app is NOT needed
        # for headless PyQGIS (QT_QPA_PLATFORM=offscreen), and neither is xvfb/xauth.
        qgis)     pkgs+=(python3-qgis)
                  # the 'qgis' package (desktop app + qgis_process CLI): +6 packages, +158 MB
                  if [ "${SPATIALPROG_QGIS_DESKTOP:-0}" = 1 ]; then pkgs+=(qgis); fi ;;
        # Tests drive Chromium over the DevTools pipe (tests/clients/chromium.py): no chromedriver.
        chromium) pkgs+=(chromium) ;;
        postgis)  pg_major; pkgs+=(postgresql "postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3") ;;
        gdal)     pkgs+=(gdal-bin python3-gdal) ;;
        *) log "unknown client '$c' in SPATIALPROG_CLIENTS (known: qgis chromium postgis gdal)"; exit 2 ;;
    esac
done
# fonts: Chromium screenshots and QGIS labels need at least one real font; poppler-utils: pdftotext and
# pdftoppm read and render rapport.pdf as a reader sees it (tests/test_report_pdf.py)
pkgs+=(fonts-dejavu-core poppler-utils)

if is_installed "${pkgs[@]}"; then
    log "already installed: ${pkgs[*]}"
else
    apt_update
    log "apt-get install ${pkgs[*]}"
    apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${pkgs[@]}" >/tmp/install-clients.apt.log 2>&1 || {
        tail -n 40 /tmp/install-clients.apt.log >&2; log "apt-get install failed (full log: /tmp/install-clients.apt.log)"; exit 1; }
    log "installed in $(( $(date +%s) - start ))s"
fi

# Report what we have (one line each), never failing here.
for c in $clients; do
    case "$c" in
        qgis)     log "qgis: $(dpkg-query -W -f '${Version}' python3-qgis 2>/dev/null)" ;;
        chromium) log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo '?')" ;;
        postgis)  log "postgis: $(dpkg-query -W -f '${Package} ${Version}' "postgresql-$PG_MAJOR-postgis-3" 2>/dev/null)" ;;
        gdal)     log "gdal: $(gdalinfo --version 2>/dev/null || echo '?')" ;;
    esac
done
log "done in $(( $(date +%s) - start ))s"
