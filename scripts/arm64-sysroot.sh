#!/usr/bin/env bash
# Prepares what `npm run prebuilds` needs to make and test the linux-arm64 addon on a Debian x64
# host: the aarch64 cross compiler, qemu-user, and a sysroot holding Debian's arm64 Node (18.x)
# with its shared libraries, so the cross-built binary is loaded and smoke-tested before it ships.
# Usage: bash scripts/arm64-sysroot.sh [DIR]   (default .cache/arm64-sysroot; needs root and apt)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.cache/arm64-sysroot}
apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  "${apt[@]}" update
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y g++-aarch64-linux-gnu qemu-user-static
fi
if [ -x "$dest/usr/bin/node" ]; then
  echo "arm64 sysroot ready: $dest"
  exit 0
fi
dpkg --print-foreign-architectures | grep -qx arm64 || {
  dpkg --add-architecture arm64
  "${apt[@]}" update
}
apt-cache policy nodejs:arm64 | grep -q 'Candidate: [0-9]' || "${apt[@]}" update
# The arm64 half of the dependency chain plus the architecture-independent JavaScript that Debian's
# Node loads from /usr/share/nodejs at start (cjs-module-lexer, undici, acorn, ...).
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances --no-pre-depends nodejs:arm64 |
  grep -E '^([a-z0-9].*:arm64|node-[a-z0-9.-]+)$' | sort -u)
work=$(mktemp -d)
trap 'rm -rf "$work" "$dest.partial"' EXIT
chmod 755 "$work"
(cd "$work" && apt-get download -qq "${pkgs[@]}")
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$dest.partial"; done
mkdir -p "$(dirname "$dest")"
mv "$dest.partial" "$dest"
echo "arm64 sysroot ready: $dest (${#pkgs[@]} packages)"
