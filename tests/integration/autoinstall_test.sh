#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# autoinstall against real kernel headers (SPEC §2.8): one already
# installed module, a dependency pair queued in the wrong order, an
# excluded module (skipped, 77), a failing one (failed(10)), and one with
# AUTOINSTALL="no". The run is repeated from the same state with
# parallel_jobs=2: the scheduler may build in parallel, but the
# transcript must stay the same (only make's -j value differs).
#   autoinstall_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

[[ -e /etc/dkms/no-autoinstall ]] && skip "/etc/dkms/no-autoinstall exists"
set_up_kernels 1
K=$KO

for p in dkms_crlf_test dkms_deps_test dkms_excl_test dkms_fail_test dkms_hello_test; do
    add_pkg "$p-1.0"
done
# A package that says AUTOINSTALL="no" explicitly (§3.3): skipped silently.
copy_pkg dkms_noversion_test-1.0 "$T/src/dkms_noversion_test-1.0"
echo 'AUTOINSTALL="no"' >>"$T/src/dkms_noversion_test-1.0/dkms.conf"
expect_exit 0 dkms_t add dkms_noversion_test/1.0

# Installed before autoinstall runs: listed first among the successes.
expect_exit 0 dkms_t install -k "$K" dkms_crlf_test/1.0

# expected_run J: the transcript with make -jJ (§2.8 steps 5-7): one
# prologue (the parent prepares the kernel once), modules in queue order,
# dkms_deps_test in the second round after dkms_hello_test, an empty line
# after each module, then the summary and the error block.
expected_run() {
    local j=$1 fb="$T/dkms/dkms_fail_test/1.0/build"
    lines "$(prologue "$K")" "" \
        "Autoinstall of module dkms_excl_test/1.0 for kernel $K ($A)" \
        "$(excl_warning dkms_excl_test/1.0 "$K")" \
        "" \
        "Autoinstall of module dkms_fail_test/1.0 for kernel $K ($A)" \
        "Building module(s)...(bad exit status: 2)" \
        "Failed command:" \
        "make -j$j KERNELRELEASE=$K -C $T/modules/$K/build M=$fb" \
        "" \
        "Error! Bad return status for module build on kernel: $K ($A)" \
        "Consult $fb/make.log for more information." \
        "" \
        "Autoinstall of module dkms_hello_test/1.0 for kernel $K ($A)" \
        "Building module(s)... done." \
        "Signing module $T/dkms/dkms_hello_test/1.0/build/dkms_hello_test.ko" \
        "Installing $T/modules/$K/updates/dkms/dkms_hello_test.ko" \
        "Running depmod... done." \
        "" \
        "Autoinstall of module dkms_deps_test/1.0 for kernel $K ($A)" \
        "Building module(s)... done." \
        "Signing module $T/dkms/dkms_deps_test/1.0/build/dkms_deps_test.ko" \
        "Installing $T/modules/$K/updates/dkms/dkms_deps_test.ko" \
        "Running depmod... done." \
        "" \
        "Autoinstall on $K succeeded for module(s) dkms_crlf_test dkms_hello_test dkms_deps_test." \
        "Autoinstall on $K was skipped for module(s) dkms_excl_test." \
        "Autoinstall on $K failed for module(s) dkms_fail_test(10)." \
        "" \
        "Error! One or more modules failed to install during autoinstall." \
        "Refer to previous errors for more information."
}

expected_status=$(lines \
    "dkms_crlf_test/1.0, $K, $A: installed" \
    "dkms_deps_test/1.0, $K, $A: installed" \
    "dkms_excl_test/1.0: added" \
    "dkms_fail_test/1.0: added" \
    "dkms_hello_test/1.0, $K, $A: installed" \
    "dkms_noversion_test/1.0: added")

parallel_jobs=1 expect_out 11 "$(expected_run 1)" dkms_t autoinstall -k "$K"
run1=$OUT
expect_out 0 "$expected_status" dkms_t status

# Back to the state before the run: unbuild what autoinstall built.
expect_exit 0 dkms_t unbuild -k "$K" dkms_deps_test/1.0
expect_exit 0 dkms_t unbuild -k "$K" dkms_hello_test/1.0
expect_out 0 "$(lines \
    "dkms_crlf_test/1.0, $K, $A: installed" \
    "dkms_deps_test/1.0: added" \
    "dkms_excl_test/1.0: added" \
    "dkms_fail_test/1.0: added" \
    "dkms_hello_test/1.0: added" \
    "dkms_noversion_test/1.0: added")" \
    dkms_t status

parallel_jobs=2 expect_out 11 "$(expected_run 2)" dkms_t autoinstall -k "$K"
run2=$OUT
assert_eq "$run1" "${run2//make -j2 /make -j1 }" "parallel_jobs=2 transcript equals parallel_jobs=1 (but for -j)"
expect_out 0 "$expected_status" dkms_t status

# Everything installed or skipped: nothing is queued, so no output at all
# (§2.8 step 4) once the failing and the excluded packages are gone.
expect_exit 0 dkms_t remove --all dkms_fail_test/1.0
expect_exit 0 dkms_t remove --all dkms_excl_test/1.0
expect_out 0 "" dkms_t autoinstall -k "$K"

# One kernel only (§1.3 helper, §2.0).
expect_out 5 "$(lines "" "Error! The action autoinstall does not support the --all parameter.")" \
    dkms_t autoinstall --all
expect_out 4 "$(lines "" \
    "Error! The action autoinstall does not support multiple kernel version parameters on the command line.")" \
    dkms_t autoinstall -k "$K" -k "$K"

finish
