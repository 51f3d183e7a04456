#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel_preinst, kernel_postinst and kernel_prerm actions of the dkms
# binary (SPEC §2.9) on a tree with real builds: one installed module, one
# only built, one built with AUTOINSTALL="no", one only added.
#   kernel_hooks_dkms_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

[[ -e /etc/dkms/no-autoinstall ]] && skip "/etc/dkms/no-autoinstall exists"
set_up_kernels 2
K=$KO

for p in dkms_crlf_test dkms_excl_test dkms_hello_test; do
    add_pkg "$p-1.0"
done
copy_pkg dkms_noversion_test-1.0 "$T/src/dkms_noversion_test-1.0"
echo 'AUTOINSTALL="no"' >>"$T/src/dkms_noversion_test-1.0/dkms.conf"
expect_exit 0 dkms_t add dkms_noversion_test/1.0

expect_exit 0 dkms_t install -k "$K" dkms_hello_test/1.0
expect_exit 0 dkms_t build -k "$K" dkms_crlf_test/1.0
expect_exit 0 dkms_t build -k "$K" dkms_noversion_test/1.0
HI="$T/modules/$K/updates/dkms/dkms_hello_test.ko"
assert_file "$HI"

removing() {
    printf 'dkms: removing module %s for kernel %s (%s)' "$1" "$K" "$A"
}

# --- kernel_preinst: AUTOINSTALL modules only, no empty line after each,
# one deferred depmod at the end (§2.9)
expect_out 0 "$(lines \
    "$(removing dkms_crlf_test/1.0)" \
    "Module dkms_crlf_test/1.0 is not installed for kernel $K ($A). Skipping..." \
    "$(removing dkms_hello_test/1.0)" \
    "Module dkms_hello_test/1.0 for kernel $K ($A):" \
    "Before uninstall, this module version was ACTIVE on this kernel." \
    "Deleting $HI" \
    "Running depmod... done.")" \
    dkms_t kernel_preinst -k "$K"
assert_no_file "$HI"
assert_no_file "$T/dkms/depmod-pending-$K-$A"
assert_no_file "$T/modules/$K/updates"
expect_out 0 "$(lines \
    "dkms_crlf_test/1.0: added" \
    "dkms_excl_test/1.0: added" \
    "dkms_hello_test/1.0: added" \
    "dkms_noversion_test/1.0, $K, $A: built")" \
    dkms_t status

# --- kernel_postinst = autoinstall for K (§2.9)
expect_out 0 "$(lines "$(prologue "$K")" "" \
    "Autoinstall of module dkms_crlf_test/1.0 for kernel $K ($A)" \
    "Building module(s)... done." \
    "Signing module $T/dkms/dkms_crlf_test/1.0/build/dkms_crlf_test.ko" \
    "Installing $T/modules/$K/updates/dkms/dkms_crlf_test.ko" \
    "Running depmod... done." \
    "" \
    "Autoinstall of module dkms_excl_test/1.0 for kernel $K ($A)" \
    "$(excl_warning dkms_excl_test/1.0 "$K")" \
    "" \
    "Autoinstall of module dkms_hello_test/1.0 for kernel $K ($A)" \
    "Building module(s)... done." \
    "Signing module $T/dkms/dkms_hello_test/1.0/build/dkms_hello_test.ko" \
    "Installing $HI" \
    "Running depmod... done." \
    "" \
    "Autoinstall on $K succeeded for module(s) dkms_crlf_test dkms_hello_test." \
    "Autoinstall on $K was skipped for module(s) dkms_excl_test.")" \
    dkms_t kernel_postinst -k "$K"
expect_out 0 "$(lines \
    "dkms_crlf_test/1.0, $K, $A: installed" \
    "dkms_excl_test/1.0: added" \
    "dkms_hello_test/1.0, $K, $A: installed" \
    "dkms_noversion_test/1.0, $K, $A: built")" \
    dkms_t status

# --- kernel_prerm: every built module, AUTOINSTALL or not, an empty line
# after each; the "removing" lines go to stderr. Streams captured apart.
dkms_t kernel_prerm -k "$K" >"$T/prerm.out" 2>"$T/prerm.err" && rc=0 || rc=$?
assert_eq 0 "$rc" "kernel_prerm exit status"
assert_eq "$(lines \
    "$(removing dkms_crlf_test/1.0)" \
    "$(removing dkms_hello_test/1.0)" \
    "$(removing dkms_noversion_test/1.0)")" \
    "$(cat "$T/prerm.err")" "kernel_prerm stderr"
assert_eq "$(lines \
    "$(uninstall_active dkms_crlf_test/1.0 "$K" "$T/modules/$K/updates/dkms/dkms_crlf_test.ko" | head -n 3)" \
    "" \
    "$(uninstall_active dkms_hello_test/1.0 "$K" "$HI" | head -n 3)" \
    "" \
    "Module dkms_noversion_test/1.0 is not installed for kernel $K ($A). Skipping..." \
    "" \
    "Running depmod... done.")" \
    "$(cat "$T/prerm.out")" "kernel_prerm stdout"
assert_no_file "$T/modules/$K/updates"
assert_no_file "$T/dkms/depmod-pending-$K-$A"
expect_out 0 "$(lines \
    "dkms_crlf_test/1.0: added" \
    "dkms_excl_test/1.0: added" \
    "dkms_hello_test/1.0: added" \
    "dkms_noversion_test/1.0: added")" \
    dkms_t status
assert_no_file "$T/dkms/dkms_crlf_test/kernel-$K-$A"

# Nothing built for the kernel: no output at all.
expect_out 0 "" dkms_t kernel_prerm -k "$K"
expect_out 0 "" dkms_t kernel_preinst -k "$KN"

# Exactly one -k is required (§1.3).
expect_out 4 "$(lines "" \
    "Error! The action kernel_postinst requires exactly one kernel version parameter on the command line.")" \
    dkms_t kernel_postinst
expect_out 5 "$(lines "" "Error! The action kernel_preinst does not support the --all parameter.")" \
    dkms_t kernel_preinst --all

finish
