#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook for every script directive: hooks.sh <phase>. Writes one line to
# stdout and one to stderr so tests can see where each stream goes. If the
# environment has DKMS_SCRIPTS_TEST_FAIL=<phase>, that phase exits with 3.
echo "hooks.sh $1: stdout"
echo "hooks.sh $1: stderr" >&2
if [ "${DKMS_SCRIPTS_TEST_FAIL:-}" = "$1" ]; then
    exit 3
fi
exit 0
