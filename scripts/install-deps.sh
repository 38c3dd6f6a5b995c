#!/usr/bin/env bash
# Installs everything heed needs to build, test and benchmark, from Debian 12's packages.
# Idempotent: packages already present are left as they are. Run as root.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libopenblas-dev libtbb-dev
  libfmt-dev doctest-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libcairo2-dev
  libpcre2-dev  # Unicode classes in GPT-2's tokenizer
  zlib1g-dev  # the gzip'd digits of the attention zoo
  clang libclang-rt-14-dev  # the fuzz targets and the clang build of the suite (CI)
  libopenmpi-dev openmpi-bin  # data-parallel training over several processes (nn/distributed)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
