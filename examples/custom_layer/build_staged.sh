#!/usr/bin/env bash
# Builds and runs the custom layer against heed installed into a staging folder, through
# pkg-config alone (docs/extending.md; CI runs this script).
#   bash examples/custom_layer/build_staged.sh HEED_BUILD STAGING_ROOT CUSTOM_BUILD
# HEED_BUILD: heed's configured build folder; the other two are made (outside the checkout is
# fine). Run from the checkout's root.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: build_staged.sh HEED_BUILD STAGING_ROOT CUSTOM_BUILD (from the checkout's root)" >&2
  exit 2
fi
heed_build=$1 root=$(realpath -m "$2") custom_build=$(realpath -m "$3")

meson install -C "$heed_build" --destdir "$root" >/dev/null
# heed.pc names the install prefix (/usr/local/...); PKG_CONFIG_SYSROOT_DIR puts those paths
# under the staging folder.
pcdir=$(dirname "$(find "$root" -name heed.pc | head -1)")
PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$pcdir" \
  meson setup "$custom_build" examples/custom_layer -Dwerror=true >/dev/null
meson compile -C "$custom_build" >/dev/null
# The libraries sit beside the pkgconfig folder, where the loader does not look by itself.
LD_LIBRARY_PATH="$(dirname "$pcdir")" "$custom_build/custom_layer"
