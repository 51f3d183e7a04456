#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A build reads dkms.conf strictly; when DT/m/v/.conf-cache-K-A holds a
# silent evaluation of the same unchanged static files for the same
# variables, the build post-processes those values instead of starting
# bash (core/conf_cache.hpp). Its transcript, make.log and result must be
# what evaluating gives; an edit of dkms.conf, or a strict read that would
# print deprecation warnings, goes back to bash.
#   conf_record_build_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"
[[ -x /usr/bin/strace ]] || skip "needs strace"

set_up_kernels 1
K=$KO
M=dkms_hello_test
add_pkg "$M-1.0"
sleep 1.1 # records are not written for files changed within the last second
record="$T/dkms/$M/1.0/.conf-cache-$K-$A"

trace=$T/strace.out
# LeakSanitizer cannot run under ptrace (harmless for other builds).
traced() {
    /usr/bin/strace -qq -f -s 4096 -e trace=execve -o "$trace" \
        -E "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" "$@"
}
# How many bash processes evaluated a dkms.conf (our conf script's marker).
conf_evals() { grep -c '__dkms_names' "$trace" || true; }

# The package's dkms.conf only assigns literal text: answered without bash
# (core/dkms_conf_literal.hpp), with the transcript and make.log bash's
# evaluation of the same assignments gives (below).
expect_exit 0 traced install -k "$K" "$M/1.0"
literal_out=$OUT
assert_eq "0" "$(conf_evals)" "a literal conf is answered without bash"
literal_log=$(make_log_shape "$T/dkms/$M/1.0/$K/$A/log/make.log")

# Expansions of variables whose values are known are answered in process
# too; this one leaves every value as it was.
conf=$T/src/$M-1.0/dkms.conf
expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
echo 'PACKAGE_VERSION="${PACKAGE_VERSION}$no_such_variable"' >>"$conf"
rm -f "$record"
expect_exit 0 traced install -k "$K" "$M/1.0"
assert_eq "0" "$(conf_evals)" "a conf naming known variables is answered without bash"
assert_eq "$literal_out" "$OUT" "its transcript is the literal one's"
assert_eq "$literal_log" "$(make_log_shape "$T/dkms/$M/1.0/$K/$A/log/make.log")" \
    "its make.log is the literal one's"

# An expansion with an operator makes it bash's to evaluate (and, being
# static, the record's to keep); this one too leaves every value as it was.
expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
sed -i '$d' "$conf"
echo 'PACKAGE_VERSION="${PACKAGE_VERSION:-}"' >>"$conf"
rm -f "$record"
sleep 1.1
expect_exit 0 traced install -k "$K" "$M/1.0"
first=$OUT
assert_eq "1" "$(conf_evals)" "the first build evaluates its conf"
assert_eq "$literal_out" "$first" "bash's transcript is the literal answer's"
assert_file "$record"
first_log=$(make_log_shape "$T/dkms/$M/1.0/$K/$A/log/make.log")
assert_eq "$literal_log" "$first_log" "bash's make.log is the literal answer's"

expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
expect_exit 0 traced install -k "$K" "$M/1.0"
assert_eq "$first" "$OUT" "same transcript from the record"
assert_eq "0" "$(conf_evals)" "the rebuild evaluates nothing"
assert_eq "$first_log" "$(make_log_shape "$T/dkms/$M/1.0/$K/$A/log/make.log")" \
    "same make.log from the record"
expect_exit 0 dkms_t status -m "$M"
assert_eq "$M/1.0, $K, $A: installed" "$OUT"

# An edit (same length, same second as the record) is noticed.
expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
sed -i 's/^AUTOINSTALL="yes"/AUTOINSTALL="no" /' "$conf"
expect_exit 0 traced build -k "$K" "$M/1.0"
assert_eq "1" "$(conf_evals)" "an edited conf is evaluated again"

# CLEAN is deprecated: a strict read prints a warning for it (so that
# evaluation is not recorded), a lenient one (status) prints nothing and is
# recorded; a later strict read must not take that record.
expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
echo 'CLEAN="make clean"' >>"$conf"
sleep 1.1
expect_exit 0 traced build -k "$K" "$M/1.0"
assert_contains "$OUT" "Deprecated feature: CLEAN" "the strict read warns"
expect_exit 0 dkms_t status -m "$M"
assert_contains "$(cat "$record")" "make clean" "status recorded the lenient read"
expect_exit 0 dkms_t unbuild -k "$K" "$M/1.0"
expect_exit 0 traced build -k "$K" "$M/1.0"
assert_eq "1" "$(conf_evals)" "a strict read with a deprecated name evaluates"
assert_contains "$OUT" "Deprecated feature: CLEAN" "its warning is printed again"
finish
