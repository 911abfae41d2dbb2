#!/usr/bin/env bash
# Usage: scripts/arm64-node.sh DIR — Debian's arm64 nodejs and its libraries, unpacked into
# DIR/root, for test/native-prebuilds.test.ts to load the cross-compiled arm64 addon under
# qemu-user (qemu-aarch64-static -L DIR/root DIR/root/usr/bin/node). apt runs with its own state
# under DIR (an empty dpkg status, so every dependency is fetched, and arm64 as the only
# architecture): the machine's dpkg and apt lists are not touched. About 25 MB, a few seconds.
set -euo pipefail
dir=$(realpath -m "${1:?usage: $0 DIR}")
if [ -x "$dir/root/usr/bin/node" ]; then exit 0; fi
rm -rf "$dir"
mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/preferences.d" "$dir/root"
: >"$dir/state/status"
apt=(apt-get -qq -o Dir::State="$dir/state" -o Dir::State::status="$dir/state/status"
  -o Dir::Cache="$dir/cache" -o Dir::Etc::PreferencesParts="$dir/preferences.d"
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1)
"${apt[@]}" update
"${apt[@]}" install -y --download-only --no-install-recommends nodejs >/dev/null
for deb in "$dir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
rm -rf "$dir/cache" "$dir/state"
