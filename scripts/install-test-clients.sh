#!/usr/bin/env bash
# Install the third-party SOAP clients that tests/test_other_clients.py drives:
#   PHP SoapClient (php-cli + php-soap), Perl SOAP::Lite (libsoap-lite-perl), and
#   node-soap (npm `soap`, pinned by tests/clients/node/package-lock.json);
# and what tests/test_console_browser.py needs: Debian's chromium (Playwright drives it, it
#   downloads no browser of its own) and axe-core (npm, pinned by the same lockfile);
# and for tests/test_integrator_examples.py (the Java example of docs/integrators.md): a JDK
#   (javac) and Debian's JAX-WS RI, `jaxws` (wsimport) with `libjaxws-java` (the runtime, with
#   JAXB and SAAJ), which JDK 11 and later no longer ship.
#
# Idempotent and quiet: installs only what is missing, runs `apt-get update` only when
# an install needs it, and runs `npm ci` only when node_modules is absent or older than
# the lockfile. Prints one line per action; on a failure it prints the tool's output
# and exits non-zero. Needs root (or sudo) for apt on Debian 12.
set -euo pipefail

cd "$(dirname "$0")/.."
NODE_DIR=tests/clients/node
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

run_quiet() { # run_quiet DESCRIPTION CMD...: run CMD, show its output only on failure
    local what=$1; shift
    if ! "$@" >"$LOG" 2>&1; then
        echo "install-test-clients: $what failed: $*" >&2
        tail -n 60 "$LOG" >&2
        return 1
    fi
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
fi

# ------------------------------------------------------------------ Debian packages
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

want=(php-cli php-soap libsoap-lite-perl haproxy chromium jaxws libjaxws-java)
command -v javac >/dev/null 2>&1 || want+=(default-jdk-headless)
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)

missing=()
for pkg in "${want[@]}"; do
    # nodejs/npm and the JDK may come from outside dpkg's view (e.g. a tarball); the command
    # checks above already decided those.
    case $pkg in
        nodejs | npm | default-jdk-headless) missing+=("$pkg") ;;
        *) installed "$pkg" || missing+=("$pkg") ;;
    esac
done

has_candidates() { # every package has an install candidate in the current lists
    local pkg cand
    for pkg in "$@"; do
        cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
        if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then return 1; fi
    done
}

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt_install=("${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}")
    updated=no
    if ! has_candidates "${missing[@]}"; then
        run_quiet "apt-get update" "${SUDO[@]}" apt-get update -qq
        updated=yes
    fi
    if ! run_quiet "apt-get install" "${apt_install[@]}"; then
        [ "$updated" = yes ] && exit 1
        # Stale package lists (404 on a superseded version): refresh once and retry.
        run_quiet "apt-get update" "${SUDO[@]}" apt-get update -qq
        run_quiet "apt-get install" "${apt_install[@]}"
    fi
    echo "install-test-clients: apt installed ${missing[*]}"
fi

php -r 'exit(extension_loaded("soap") ? 0 : 3);' || {
    echo "install-test-clients: php is installed but its soap extension is not loaded" >&2
    exit 1
}
perl -MSOAP::Lite -e 1 || {
    echo "install-test-clients: perl cannot load SOAP::Lite" >&2
    exit 1
}
{ command -v wsimport >/dev/null 2>&1 && [ -f /usr/share/java/jaxws-rt.jar ]; } || {
    echo "install-test-clients: jaxws is installed but wsimport or /usr/share/java/jaxws-rt.jar is not there" >&2
    exit 1
}
[ -x /usr/bin/chromium ] || {
    echo "install-test-clients: the chromium package is installed but /usr/bin/chromium is not there" >&2
    exit 1
}

# ------------------------------------------------------------------ node-soap, axe-core
stamp=$NODE_DIR/node_modules/.package-lock.json   # written by npm ci / npm install
if [ -f "$NODE_DIR/node_modules/soap/package.json" ] && [ -f "$NODE_DIR/node_modules/axe-core/axe.min.js" ] \
    && [ -f "$stamp" ] \
    && [ ! "$NODE_DIR/package-lock.json" -nt "$stamp" ] && [ ! "$NODE_DIR/package.json" -nt "$stamp" ]; then
    :
else
    run_quiet "npm ci" npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error
    echo "install-test-clients: npm ci in $NODE_DIR ($(node -p "require('./$NODE_DIR/node_modules/soap/package.json').version" 2>/dev/null || echo '?'))"
fi

echo "install-test-clients: ok (php $(php -r 'echo PHP_VERSION;'), SOAP::Lite $(perl -MSOAP::Lite -e 'print $SOAP::Lite::VERSION'), node $(node --version), soap $(node -p "require('./$NODE_DIR/node_modules/soap/package.json').version"), axe-core $(node -p "require('./$NODE_DIR/node_modules/axe-core/package.json').version"), $(dpkg-query -W -f='chromium ${Version}' chromium), $(dpkg-query -W -f='jaxws ${Version}' jaxws))"
