#!/bin/bash
# ctest wrapper: transcript comparison of the given dkms binary against
# upstream DKMS 3.2.2 (tests/compat). Skips (77) when not root or when the
# reference package cannot be downloaded.
set -u
bin=${1:?usage: compat_test.sh DKMS_BINARY}
((EUID == 0)) || { echo "compat: needs root, skipping"; exit 77; }
exec "$(dirname "$0")/../compat/run.sh" --ours "$bin"
