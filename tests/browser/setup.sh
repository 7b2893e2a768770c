#!/usr/bin/env bash
# Installs (idempotently) what the browser tests need, then prints where it is:
#
#   tests/browser/setup.sh [--quiet]
#
# * Debian's `chromium` package (and the `fonts-noto-color-emoji` font, best effort), with `apt-get update && apt-get install -y chromium`, only
#   when /usr/bin/chromium is missing (as root; otherwise it says what to run). No browser
#   build is ever downloaded: playwright-core drives this one.
# * Node's `playwright-core`, at the version pinned in tests/browser/package-lock.json,
#   with `npm ci --ignore-scripts` into <repo>/target/browser-node (WEAVE_BROWSER_NODE_DIR
#   to put it elsewhere). A marker holding the hash of package.json, package-lock.json and
#   the Node version skips the install when nothing changed (well under a second).
#
# Concurrent runs (several test binaries at once) are serialised by a lock file next to the
# install directory. Everything the tools print goes to <node dir>/setup.log, shown only
# when a step fails. On success the last lines on stdout are:
#
#   CHROMIUM=/usr/bin/chromium
#   NODE=/usr/bin/node
#   NODE_DIR=/abs/path/target/browser-node
#   RUNNER=/abs/path/tests/browser/run.mjs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node_dir="${WEAVE_BROWSER_NODE_DIR:-$repo/target/browser-node}"
chromium=/usr/bin/chromium
quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1

say() {
    if [[ $quiet == 0 ]]; then echo "[browser-setup] $*" >&2; fi
}

fail() {
    echo "[browser-setup] error: $*" >&2
    if [[ -s "$node_dir/setup.log" ]]; then
        echo "[browser-setup] last lines of $node_dir/setup.log:" >&2
        tail -n 40 "$node_dir/setup.log" >&2
    fi
    exit 1
}

mkdir -p "$node_dir"
exec 9>"$node_dir.lock"
flock 9

log="$node_dir/setup.log"
: >"$log"

# 1. Chromium, from Debian.
if [[ ! -x "$chromium" ]]; then
    if [[ $(id -u) != 0 ]]; then
        fail "$chromium is missing; install Debian's package: sudo apt-get update && sudo apt-get install -y chromium"
    fi
    command -v apt-get >/dev/null || fail "$chromium is missing and there is no apt-get to install Debian's chromium"
    say "installing Debian's chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >>"$log" 2>&1 || fail "apt-get update failed"
    apt-get install -y chromium >>"$log" 2>&1 || fail "apt-get install -y chromium failed"
    [[ -x "$chromium" ]] || fail "apt-get installed chromium but $chromium is still missing"
fi

# 1b. An emoji font, so that the screenshots people look at show the reaction buttons as
#     emoji, not boxes (best effort: the tests do not depend on it).
emoji_font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if [[ ! -f "$emoji_font" && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's fonts-noto-color-emoji (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y fonts-noto-color-emoji >>"$log" 2>&1; then
        apt-get update >>"$log" 2>&1 && apt-get install -y fonts-noto-color-emoji >>"$log" 2>&1 \
            || say "could not install fonts-noto-color-emoji; screenshots show boxes for emoji"
    fi
fi

# 2. playwright-core, pinned.
node_bin="$(command -v node || true)"
[[ -n "$node_bin" ]] || fail "node is missing (Node 20 or newer is needed: apt-get install -y nodejs npm)"
command -v npm >/dev/null || fail "npm is missing (apt-get install -y npm)"
node_version="$(node --version)"
major="${node_version#v}"
major="${major%%.*}"
[[ "$major" -ge 20 ]] || fail "node $node_version is too old: playwright-core needs Node 20 or newer"

wanted="$( (cat "$here/package.json" "$here/package-lock.json"; echo "node=$node_version") | sha256sum | cut -d' ' -f1)"
marker="$node_dir/.installed"
if [[ "$(cat "$marker" 2>/dev/null || true)" != "$wanted" || ! -f "$node_dir/node_modules/playwright-core/package.json" ]]; then
    say "installing playwright-core into $node_dir (npm ci)"
    rm -f "$marker"
    cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
    (
        cd "$node_dir"
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >>"$log" 2>&1
    ) || fail "npm ci failed in $node_dir"
    echo "$wanted" >"$marker"
fi

echo "CHROMIUM=$chromium"
echo "NODE=$node_bin"
echo "NODE_DIR=$node_dir"
echo "RUNNER=$here/run.mjs"
