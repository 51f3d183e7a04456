#!/bin/bash
# Builds the tarball-reader fuzz target with clang (libFuzzer + ASan + UBSan)
# and runs it for a bounded time on a seed corpus of small DKMS tarballs.
#   fuzz/run.sh [SECONDS] [BUILD_DIR]     (defaults: 60, build-fuzz)
# Exit status: 0 if no crash was found, libFuzzer's status otherwise, 77 if
# clang or its libFuzzer runtime is missing (apt-get install clang).
set -euo pipefail

seconds=${1:-60}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${2:-$repo/build-fuzz}
cxx=${CXX_FUZZ:-clang++}
command -v "$cxx" >/dev/null || { echo "SKIP: $cxx not found (apt-get install clang)"; exit 77; }
mkdir -p "$build/archive_corpus" "$build/archive_artifacts"

# The reader and the helpers it uses; no need to build the whole library.
sources=(src/core/archive.cpp src/core/dynlib.cpp src/util/fs.cpp src/util/strings.cpp
         fuzz/archive_fuzz.cpp)
# archive.cpp opens libarchive by SONAME on first use (src/core/dynlib.hpp).
libarchive=$(pkg-config --variable=libdir libarchive)/libarchive.so
soname=$(objdump -p "$(readlink -f "$libarchive")" | awk '$1 == "SONAME" { print $2 }')
[ -n "$soname" ] || { echo "cannot read the SONAME of $libarchive" >&2; exit 1; }
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$repo/src" -DDKMS_SONAME_LIBARCHIVE="\"$soname\"")
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o "$build/probe" 2>/dev/null; then
    echo "SKIP: $cxx cannot link -fsanitize=fuzzer (libFuzzer runtime missing)"
    exit 77
fi
(cd "$repo" && "$cxx" "${flags[@]}" "${sources[@]}" $(pkg-config --cflags libarchive) \
    -o "$build/archive_fuzz")

# Seeds: the tarball kinds dkms reads, in several compressions.
seed=$(mktemp -d)
trap 'rm -rf "$seed"' EXIT
mkdir -p "$seed/t/dkms_main_tree/6.1.0-1-amd64/x86_64/module" "$seed/t/dkms_source_tree/sub"
echo 'PACKAGE_NAME=x PACKAGE_VERSION=1' >"$seed/t/dkms_source_tree/dkms.conf"
echo 'obj-m := x.o' >"$seed/t/dkms_source_tree/Makefile"
ln -s ../Makefile "$seed/t/dkms_source_tree/sub/link"
ln "$seed/t/dkms_source_tree/Makefile" "$seed/t/dkms_source_tree/hard"
printf 'ko' >"$seed/t/dkms_main_tree/6.1.0-1-amd64/x86_64/module/x.ko"
tar -C "$seed/t" -cf "$build/archive_corpus/seed.tar" .
tar -C "$seed/t" -czf "$build/archive_corpus/seed.tar.gz" .
tar -C "$seed/t" -cJf "$build/archive_corpus/seed.tar.xz" .
tar -C "$seed/t" --format=pax -cf "$build/archive_corpus/seed-pax.tar" .

export TMPDIR=$seed
"$build/archive_fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=20 \
    -rss_limit_mb=2048 -artifact_prefix="$build/archive_artifacts/" \
    "$build/archive_corpus"
