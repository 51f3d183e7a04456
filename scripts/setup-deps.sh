#!/bin/bash
# Installs what building and testing need on Debian 12, idempotently: the
# compiler and libraries, the tools dkms runs (make, patch, kmod, openssl,
# xz, zstd), and two real kernel header trees (the default Debian kernel and
# the newest 6.12 backport, whose modules are xz-compressed).
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libgtest-dev libarchive-dev libssl-dev zlib1g-dev liblzma-dev libzstd-dev libkmod-dev
  bc bison flex kmod patch gzip xz-utils zstd openssl
  hyperfine
)

sudo_() { if (( EUID == 0 )); then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# Real kernel headers: the default kernel's, and the newest 6.12 one.
have_headers() { compgen -G "/lib/modules/*/build/include" >/dev/null; }
want_612=$(ls -d /usr/src/linux-headers-6.12.*+deb12-amd64 2>/dev/null | head -1 || true)

updated=0
apt_update() { (( updated )) || { sudo_ apt-get update -q >/dev/null; updated=1; }; }

if ((${#missing[@]})) || ! have_headers || [[ -z $want_612 ]]; then
  apt_update
fi
if ! dpkg-query -W -f='${Status}' linux-headers-amd64 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(linux-headers-amd64)
fi
if [[ -z $want_612 ]]; then
  h612=$(apt-cache search --names-only '^linux-headers-6\.12\..*\+deb12-amd64$' \
           | awk '{print $1}' | sort -V | tail -1)
  [[ -n $h612 ]] && missing+=("$h612")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
exit 0
