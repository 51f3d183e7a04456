# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Extra helpers for the integration tests that build real modules
# (lifecycle, errors, conf, install_versions, autoinstall, kernel hooks).
# Source it after lib.sh. Expected texts are composed from SPEC's rules;
# these helpers only spell out the parts every transcript shares.

# The architecture dkms uses on Debian (SPEC §1.5 step 3: uname -m).
# shellcheck disable=SC2034 # used by the tests
A=$(uname -m)

# lines ARGS...: the arguments joined by newlines (no trailing newline), the
# form $(...) gives a command's output in.
lines() {
    local IFS=$'\n'
    printf '%s' "$*"
}

# expected_sign_file K: the sign command dkms picks on Debian when
# framework.conf sets none (SPEC §6.3 step 4): the linux-kbuild copy for
# K without its last dot-part if it exists, else the one in K's headers.
expected_sign_file() {
    local k=$1 f
    f="/usr/lib/linux-kbuild-${k%.*}/scripts/sign-file"
    [[ -f $f ]] || f="$T/modules/$k/build/scripts/sign-file"
    printf '%s' "$f"
}

# prologue K: the lines of the "prepare kernel and signing" step (SPEC
# §6.1, §6.3) for kernel K when the key pair already exists, ending with
# its empty line. Use it inside lines(): "$(prologue K)" "" ...
# shellcheck disable=SC2154 # mok_* are exported by make_tree (lib.sh)
prologue() {
    lines "Sign command: $(expected_sign_file "$1")" \
        "Signing key: $mok_signing_key" \
        "Public certificate (MOK): $mok_certificate"
}

# require_signing K...: (after make_tree) skip unless the kernels can sign (config with
# CONFIG_MODULE_SIG_HASH and an executable sign-file), because every
# expected build transcript includes the signing lines.
require_signing() {
    local k
    for k in "$@"; do
        grep -q '^CONFIG_MODULE_SIG_HASH=' "/lib/modules/$k/build/include/config/auto.conf" 2>/dev/null ||
            skip "kernel $k is built without module signing"
        [[ -x $(expected_sign_file "$k") ]] || skip "no sign-file for $k"
    done
}

# norm_tmp: filter for the only temp names dkms prints itself, the build
# staging directories .tmp_<arch>_XXXXXX (SPEC §2.2 step 16).
norm_tmp() {
    sed -e 's/\.tmp_\([A-Za-z0-9_]*\)_[A-Za-z0-9]\{6\}/.tmp_\1_XXXXXX/g'
}

# expect_out CODE EXPECTED COMMAND [ARGS...]: run COMMAND (stdout and
# stderr merged, as expect_exit does), check its exit status and that the
# whole output, after norm_tmp, equals EXPECTED.
expect_out() {
    local code=$1 want=$2
    shift 2
    expect_exit "$code" "$@"
    assert_eq "$want" "$(printf '%s\n' "$OUT" | norm_tmp)" "output of: $*"
}

# copy_pkg NAME DIR: copy our test package NAME (e.g. dkms_hello_test-1.0)
# to DIR (created), preserving modes; prints nothing.
copy_pkg() {
    mkdir -p "$(dirname "$2")"
    cp -a "$TEST_MODULES/$1" "$2"
}

# add_pkg NAME: copy package NAME into $T/src/NAME and add it as m/v with
# dkms (m-v = NAME); fails the test on a non-zero exit.
add_pkg() {
    local name=$1
    copy_pkg "$name" "$T/src/$name"
    expect_exit 0 dkms_t add "${name%-*}/${name##*-}"
}

# signature_tail FILE: the last 28 bytes of FILE (decompressed first for
# .xz), which end every signed module ("~Module signature appended~\n"),
# printed with the newline made visible as \n.
signature_tail() {
    if [[ $1 == *.xz ]]; then
        xz -dc "$1"
    else
        cat "$1"
    fi | tail -c 28 | od -An -c | tr -s ' ' | tr -d '\n'
}

# The same for the expected text.
SIGNATURE_TAIL=$(printf '~Module signature appended~\n' | od -An -c | tr -s ' ' | tr -d '\n')
# shellcheck disable=SC2034 # used by the tests
readonly SIGNATURE_TAIL

# assert_signed FILE: FILE ends with the module signature marker, and
# modinfo reports our test certificate's CN as signer.
assert_signed() {
    assert_eq "$SIGNATURE_TAIL" "$(signature_tail "$1")" "signature marker at the end of $1"
    assert_eq "dkms integration test" "$(modinfo -F signer "$1" 2>&1)" "modinfo signer of $1"
}

# make_log_shape FILE: print make.log with its variable parts replaced:
# line 2 (the date) by <date> if it looks like date(1)'s default output,
# each "# elapsed time: HH:MM:SS" by "# elapsed time: <elapsed>", and the
# compiler output of every "Building module(s)" block (the lines between
# its "# command:" line and the empty line before "# exit code:") by one
# line <make output>. Other blocks (patches, scripts) stay verbatim.
make_log_shape() {
    awk '
        NR == 2 && /^[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] [A-Z+0-9-]+ [0-9][0-9][0-9][0-9]$/ { print "<date>"; next }
        /^# elapsed time: [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/ { print "# elapsed time: <elapsed>"; next }
        /^# command: / { print; inmake = (prev == "Building module(s)"); nout = 0; prev = $0; next }
        inmake && /^# exit code: / {
            if (nout > 1) print "<make output>"
            print ""
            print
            inmake = 0
            prev = $0
            next
        }
        inmake { nout++; prev = $0; next }
        { print; prev = $0 }
    ' "$1"
}

# set_up_kernels N: the common start of these tests: skip unless root and
# N kernels with headers; KN = the newest kernel, KO = the second newest
# (KO = KN with one kernel); a fresh tree with a signing key pair.
set_up_kernels() {
    local -a ks
    [[ $(id -u) == 0 ]] || skip "needs root (add, install)"
    require_kernels "$1"
    mapfile -t ks < <(newest_kernels 2)
    KN=${ks[0]}
    KO=${ks[${#ks[@]} - 1]}
    make_tree
    require_signing "$KO" "$KN"
    make_signing_key
}

# uninstall_active M/V K FILE...: the uninstall procedure's output for an
# active module whose FILEs are deleted (SPEC §7.6) and depmod runs.
uninstall_active() {
    local mv=$1 k=$2
    shift 2
    lines "Module $mv for kernel $k ($A):" \
        "Before uninstall, this module version was ACTIVE on this kernel." \
        "${@/#/Deleting }" \
        "Running depmod... done."
}

# excl_warning M/V K: the warning block of a build excluded by
# BUILD_EXCLUSIVE (SPEC §2.2 step 5), which names BASE/dkms.conf.
excl_warning() {
    lines "Warning: The $T/dkms/$1/$2/$A/dkms.conf" \
        "for module $1 includes a BUILD_EXCLUSIVE directive" \
        "which does not match this kernel/arch/config." \
        "This indicates that it should not be built."
}
