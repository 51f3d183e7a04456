#!/bin/bash
# ctest wrapper: transcript comparison of the given dkms binary against
# upstream DKMS 3.2.2 (tests/compat). It builds every scenario twice (ours
# and upstream's), which is longer than the default suite's budget, so it
# runs only with DKMS_FULL_TESTS=1 (`make check-full`) or by `make compat`.
# Skips (77) when not root or when the reference package cannot be
# downloaded.
set -u
bin=${1:?usage: compat_test.sh DKMS_BINARY}
if [[ ${DKMS_FULL_TESTS:-} != 1 ]]; then
    echo "compat: set DKMS_FULL_TESTS=1 (make check-full) to run; skipping"
    exit 77
fi
((EUID == 0)) || { echo "compat: needs root, skipping"; exit 77; }
exec "$(dirname "$0")/../compat/run.sh" --ours "$bin"
