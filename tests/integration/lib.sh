# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared helpers for the integration tests (tests/integration/*_test.sh).
# ctest runs each test as `bash <script> <path-to-dkms-binary>`; a test does
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # takes DKMS from $1
#   require_kernels 1
#   make_tree
#   K=$(newest_kernels 1)
#   expect_exit 0 dkms_t add "$TEST_MODULES/dkms_hello_test-1.0"
#   assert_contains "$OUT" "Creating symlink"
#   finish
#
# Everything a test does happens in a fresh temporary root $T:
#   $T/dkms      --dkmstree
#   $T/src       --sourcetree
#   $T/modules   --installtree; $T/modules/<K>/build -> /lib/modules/<K>/build
#                for every kernel with headers, and no modules.dep, so dkms
#                skips depmod
#   $T/mok.key, $T/mok.pub   signing key and certificate (exported as
#                mok_signing_key / mok_certificate, so /var/lib/dkms is never
#                touched)
# Exit status 77 tells ctest the test was skipped. Assertions return 1 on
# failure, so under `set -e` the first failure ends the test (still failing);
# without it, all assertions run and finish reports the tally.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/../.." && pwd)
# Our own test module packages, one source tree per directory.
# shellcheck disable=SC2034 # used by the tests that source this file
TEST_MODULES="$REPO_ROOT/tests/modules"

# The binary under test: the test script's first argument, unless DKMS is
# already set in the environment.
if [[ -z ${DKMS:-} && -n ${1:-} ]]; then
    DKMS=$(readlink -f "$1")
fi
DKMS=${DKMS:-}

# Deterministic output: `make -j1`, C collation, no inherited verbosity.
export parallel_jobs=1
export LC_ALL=C
unset verbose

LIB_PASSED=0
LIB_FAILED=0
LIB_TREES=()
T=""

# ---------------------------------------------------------------------------
# Kernels

# All kernels with a header tree (/lib/modules/<K>/build/include), one per
# line, oldest first in GNU version order.
kernels_with_headers() {
    local inc
    for inc in /lib/modules/*/build/include; do
        [[ -d $inc ]] || continue
        inc=${inc%/build/include}
        echo "${inc##*/}"
    done | sort -V
}

# newest_kernels N: the N newest kernels with headers, newest first (fewer if
# fewer are installed). `K=$(newest_kernels 1)` is the newest one.
newest_kernels() {
    kernels_with_headers | tail -n "${1:?newest_kernels needs a count}" | tac
}

# require_kernels N: skip the test (exit 77) unless N kernels have headers.
require_kernels() {
    local have
    have=$(kernels_with_headers | wc -l)
    if ((have < $1)); then
        skip "needs headers for $1 kernel(s), found $have"
    fi
}

# ---------------------------------------------------------------------------
# Trees

# make_tree: create a fresh root and point $T at it (see the top of the
# file). Each call makes a new one; all are deleted when the test exits
# unless KEEP_TREES is set.
make_tree() {
    local k
    T=$(mktemp -d "${TMPDIR:-/tmp}/dkms-it.XXXXXX") || {
        echo "make_tree: mktemp failed" >&2
        exit 1
    }
    LIB_TREES+=("$T")
    mkdir -p "$T/dkms" "$T/src" "$T/modules"
    while read -r k; do
        [[ $k ]] || continue
        mkdir -p "$T/modules/$k"
        ln -s "/lib/modules/$k/build" "$T/modules/$k/build"
    done < <(kernels_with_headers)
    export mok_signing_key="$T/mok.key"
    export mok_certificate="$T/mok.pub"
}

# make_signing_key: create $T/mok.key and $T/mok.pub up front, so the first
# build does not print the "generating self signed certificate" lines.
make_signing_key() {
    openssl req -new -x509 -nodes -days 36500 -subj "/CN=dkms integration test" \
        -newkey rsa:2048 -keyout "$mok_signing_key" \
        -addext "extendedKeyUsage=codeSigning" \
        -outform DER -out "$mok_certificate" >/dev/null 2>&1 || {
        echo "make_signing_key: openssl failed" >&2
        exit 1
    }
}

# fake_dummy_kernel K [xz]: give kernel K in $T an in-tree module
# kernel/drivers/net/dummy.ko (dummy.ko.xz with "xz"), for the
# original-module replacement tests. It is a copy of a real dummy module
# from /lib/modules when one exists (so modinfo works on it), otherwise a
# placeholder file; FAKE_DUMMY_IS_REAL says which.
fake_dummy_kernel() {
    local k=$1 mode=${2:-} dir real
    dir="$T/modules/$k/kernel/drivers/net"
    mkdir -p "$dir"
    real=$(find /lib/modules/*/kernel/drivers/net -maxdepth 1 \
        \( -name dummy.ko -o -name dummy.ko.xz \) -print -quit 2>/dev/null)
    # shellcheck disable=SC2034 # read by callers
    FAKE_DUMMY_IS_REAL=${real:+yes}
    if [[ $real ]]; then
        if [[ $real == *.xz ]]; then
            xz -dc "$real" >"$dir/dummy.ko"
        else
            cp "$real" "$dir/dummy.ko"
        fi
    else
        echo "placeholder for the kernel's dummy module" >"$dir/dummy.ko"
    fi
    if [[ $mode == xz ]]; then
        xz -f "$dir/dummy.ko"
    fi
}

# fake_xz_kernel K: make kernel K in $T look like it ships xz-compressed
# modules (dkms decides that by finding any *.ko.xz below $T/modules/K).
fake_xz_kernel() {
    mkdir -p "$T/modules/$1/kernel/fs"
    : >"$T/modules/$1/kernel/fs/x.ko.xz"
}

# dkms_t ARGS...: run the dkms under test on the tree $T.
dkms_t() {
    if [[ -z $DKMS || ! -x $DKMS ]]; then
        echo "dkms_t: no dkms binary (pass its path as the test's first argument)" >&2
        return 127
    fi
    if [[ -z $T ]]; then
        echo "dkms_t: call make_tree first" >&2
        return 127
    fi
    "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" "$@"
}

# norm: filter that replaces the tree path by the literal text $T, so
# expected output can be written independently of mktemp's name.
norm() {
    sed -e "s|$T|\$T|g"
}

lib_cleanup() {
    local t
    [[ ${KEEP_TREES:-} ]] && return 0
    for t in "${LIB_TREES[@]}"; do
        # Only our own mktemp directories.
        [[ $t == */dkms-it.* ]] && rm -rf "$t"
    done
    LIB_TREES=()
}
trap lib_cleanup EXIT

# ---------------------------------------------------------------------------
# Assertions. Each prints nothing on success and a FAIL block (with the
# caller's file:line) on failure, and counts the result for finish.

_lib_where() {
    local i
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        if [[ ${BASH_SOURCE[i]} != "${BASH_SOURCE[0]}" ]]; then
            echo "${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
            return
        fi
    done
    echo "?"
}

_lib_pass() {
    LIB_PASSED=$((LIB_PASSED + 1))
}

# _lib_fail WHAT [DETAIL-LINES...]
_lib_fail() {
    LIB_FAILED=$((LIB_FAILED + 1))
    echo "FAIL at $(_lib_where): $1"
    shift
    local line
    for line in "$@"; do
        echo "$line"
    done | sed 's/^/    /'
}

# assert_eq EXPECTED ACTUAL [MESSAGE]: exact equality; a failure shows a
# unified diff (expected first).
assert_eq() {
    if [[ $1 == "$2" ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "${3:-values differ}" "$(diff -u --label expected --label actual \
        <(printf '%s\n' "$1") <(printf '%s\n' "$2"))"
    return 1
}

# assert_contains HAYSTACK NEEDLE [MESSAGE]: NEEDLE is a plain substring.
assert_contains() {
    if [[ $1 == *"$2"* ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "${3:-text does not contain the expected part}" \
        "expected to find: $2" "in:" "$1"
    return 1
}

# assert_not_contains HAYSTACK NEEDLE [MESSAGE]
assert_not_contains() {
    if [[ $1 != *"$2"* ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "${3:-text contains an unexpected part}" \
        "expected not to find: $2" "in:" "$1"
    return 1
}

# assert_file PATH [MESSAGE]: PATH exists (file, directory, or a symlink
# whose target exists).
assert_file() {
    if [[ -e $1 ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "${2:-missing: $1}" "no such file: $1"
    return 1
}

# assert_no_file PATH [MESSAGE]: nothing at PATH, not even a dangling symlink.
assert_no_file() {
    if [[ ! -e $1 && ! -L $1 ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "${2:-unexpected: $1}" "exists: $1"
    return 1
}

# expect_exit CODE COMMAND [ARGS...]: run the command with stdout and stderr
# merged, store that in OUT and the status in RC, and check RC == CODE.
# A failure shows the command and its output.
expect_exit() {
    local want=$1
    shift
    # The && / || form keeps a failing command from ending a `set -e` test.
    OUT=$("$@" 2>&1) && RC=0 || RC=$?
    if [[ $RC == "$want" ]]; then
        _lib_pass
        return 0
    fi
    _lib_fail "exit status $RC, expected $want" "command: $*" "output:" "$OUT"
    return 1
}

# skip MESSAGE: end the test as skipped.
skip() {
    echo "SKIP: $*"
    exit 77
}

# finish: print the tally and exit 0 only if something was checked and
# nothing failed.
finish() {
    echo "$LIB_PASSED passed, $LIB_FAILED failed"
    if ((LIB_FAILED > 0)); then
        exit 1
    fi
    if ((LIB_PASSED == 0)); then
        echo "no assertions were run"
        exit 1
    fi
    exit 0
}
