#!/bin/bash
# ctest wrapper: upstream DKMS 3.2.2's own run_test.sh against the given
# dkms binary (tests/upstream). Opt-in with DKMS_UPSTREAM_SUITE=1 until our
# binary passes the whole suite. Skips (77) when not root or when the
# reference package cannot be downloaded.
set -u
bin=${1:?usage: upstream_suite_test.sh DKMS_BINARY}
[[ ${DKMS_UPSTREAM_SUITE:-} == 1 ]] || { echo "upstream suite: set DKMS_UPSTREAM_SUITE=1 to run, skipping"; exit 77; }
((EUID == 0)) || { echo "upstream suite: needs root, skipping"; exit 77; }
exec "$(dirname "$0")/../upstream/run.sh" --ours "$bin"
