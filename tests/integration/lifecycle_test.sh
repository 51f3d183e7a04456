#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The core lifecycle on the two newest kernels with headers: add by path,
# build for both, status, install, files and signatures, make.log,
# uninstall, unbuild, install with an implicit build, remove. KO keeps
# uncompressed modules, KN is made to look like an xz kernel. Every
# transcript is compared whole against the text SPEC's rules give.
#   lifecycle_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

set_up_kernels 2
fake_xz_kernel "$KN"

M=dkms_hello_test
DTM="$T/dkms/$M/1.0"
BUILD_KO="$DTM/build/$M.ko"

# --- add by path: the directory name is not PACKAGE_NAME-VERSION (§2.1)
copy_pkg "$M-1.0" "$T/elsewhere/unrelated-name"
expect_out 0 "Creating symlink $DTM/source -> $T/src/$M-1.0" \
    dkms_t add "$T/elsewhere/unrelated-name"
assert_eq "$T/src/$M-1.0" "$(readlink "$DTM/source")" "source symlink target"
assert_file "$T/src/$M-1.0/dkms.conf"
assert_file "$T/src/$M-1.0/$M.c"
assert_eq "" "$(ls -A "$DTM/build" 2>&1)" "add leaves an empty build/"

expect_out 3 "$(lines "" \
    "Error! DKMS tree already contains: $M/1.0" \
    "You cannot add the same module/version combo more than once.")" \
    dkms_t add "$M/1.0"

expect_out 0 "$M/1.0: added" dkms_t status

# --- build for two kernels: one prologue per kernel unit (§0.4, §6.1)
expect_out 0 "$(lines \
    "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $BUILD_KO" \
    "$(prologue "$KN")" "" \
    "Building module(s)... done." \
    "Signing module $BUILD_KO")" \
    dkms_t build -k "$KO" -k "$KN" "$M/1.0"

expect_out 0 "$(lines \
    "$M/1.0, $KO, $A: built" \
    "$M/1.0, $KN, $A: built")" \
    dkms_t status

# Built state (§5.1): BUILD is gone, no staging directory is left.
assert_no_file "$DTM/build"
assert_eq "$A" "$(ls -A "$DTM/$KO")" "only the arch directory below $KO"
assert_eq "$A" "$(ls -A "$DTM/$KN")" "only the arch directory below $KN"
assert_eq "$(lines Module.symvers "$M.ko")" "$(ls "$DTM/$KO/$A/module" | sort)" "BASE/module for $KO"
assert_eq "$(lines Module.symvers "$M.ko.xz")" "$(ls "$DTM/$KN/$A/module" | sort)" "BASE/module for $KN"

# Signatures: plain for KO; for KN a valid xz (CRC32 check, §4.2 default
# options) whose content is the signed module.
assert_signed "$DTM/$KO/$A/module/$M.ko"
assert_eq "sha256" "$(modinfo -F sig_hashalgo "$DTM/$KO/$A/module/$M.ko")" "signature hash"
if xz -t "$DTM/$KN/$A/module/$M.ko.xz"; then _lib_pass; else _lib_fail "xz -t failed"; fi
assert_eq "CRC32" "$(xz --robot -lv "$DTM/$KN/$A/module/$M.ko.xz" | awk -F'\t' '$1 == "stream" { print $9 }')" \
    "xz check type"
assert_signed "$DTM/$KN/$A/module/$M.ko.xz"

# make.log (§2.2 step 11, §0.3, §6.2)
for k in "$KO" "$KN"; do
    assert_eq "$(lines \
        "DKMS (dkms-3.2.2) make.log for $M/1.0 for kernel $k ($A)" \
        "<date>" \
        "" \
        "Building module(s)" \
        "# command: make -j1 KERNELRELEASE=$k -C $T/modules/$k/build M=$DTM/build" \
        "<make output>" \
        "" \
        "# exit code: 0" \
        "# elapsed time: <elapsed>" \
        "----------------------------------------------------------------")" \
        "$(make_log_shape "$DTM/$k/$A/log/make.log")" "make.log for $k"
done
assert_contains "$(cat "$DTM/$KO/$A/log/make.log")" "$M.ko" "make output is logged"

# Building again without --force skips (§2.2).
expect_out 0 "Module $M/1.0 already built for kernel $KO ($A), skip. You may override by specifying --force." \
    dkms_t build -k "$KO" "$M/1.0"

# --- install both: already built, so no prologue (§2.3, §6.1)
expect_out 0 "$(lines \
    "Installing $T/modules/$KO/updates/dkms/$M.ko" \
    "Running depmod... done." \
    "Installing $T/modules/$KN/updates/dkms/$M.ko.xz" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" -k "$KN" "$M/1.0"
assert_eq "1.0/$KO/$A" "$(readlink "$T/dkms/$M/kernel-$KO-$A")" "kernel-K-A link for $KO"
assert_eq "1.0/$KN/$A" "$(readlink "$T/dkms/$M/kernel-$KN-$A")" "kernel-K-A link for $KN"
if cmp -s "$DTM/$KO/$A/module/$M.ko" "$T/modules/$KO/updates/dkms/$M.ko"; then _lib_pass; else _lib_fail "installed $KO copy differs from BASE"; fi
if cmp -s "$DTM/$KN/$A/module/$M.ko.xz" "$T/modules/$KN/updates/dkms/$M.ko.xz"; then _lib_pass; else _lib_fail "installed $KN copy differs from BASE"; fi
assert_no_file "$T/modules/$KN/updates/dkms/$M.ko"
assert_eq "sha256" "$(modinfo -F sig_hashalgo "$T/modules/$KN/updates/dkms/$M.ko.xz")" "installed xz module is signed"

expect_out 0 "$(lines \
    "$M/1.0, $KO, $A: installed" \
    "$M/1.0, $KN, $A: installed")" \
    dkms_t status
# -k filters, and one listing per -k (§5.4).
expect_out 0 "$M/1.0, $KN, $A: installed" dkms_t status -k "$KN"
expect_out 0 "$(lines \
    "$M/1.0, $KN, $A: installed" \
    "$M/1.0, $KO, $A: installed")" \
    dkms_t status -k "$KN" -k "$KO"

expect_out 0 "Module $M/1.0 already installed on kernel $KO ($A), skip. You may override by specifying --force." \
    dkms_t install -k "$KO" "$M/1.0"

# --- uninstall: empty line between kernels, not before the first (§2.4)
expect_out 0 "$(lines \
    "$(uninstall_active "$M/1.0" "$KO" "$T/modules/$KO/updates/dkms/$M.ko")" \
    "" \
    "$(uninstall_active "$M/1.0" "$KN" "$T/modules/$KN/updates/dkms/$M.ko.xz")")" \
    dkms_t uninstall -k "$KO" -k "$KN" "$M/1.0"
# The emptied updates/dkms directories go too (rmdir -p, §7.6 step 3).
assert_no_file "$T/modules/$KO/updates"
assert_no_file "$T/modules/$KN/updates"
assert_no_file "$T/dkms/$M/kernel-$KO-$A"
assert_no_file "$T/dkms/$M/kernel-$KN-$A"
assert_file "$T/modules/$KN/kernel/fs/x.ko.xz"
expect_out 0 "$(lines \
    "$M/1.0, $KO, $A: built" \
    "$M/1.0, $KN, $A: built")" \
    dkms_t status

expect_out 0 "Module $M/1.0 is not installed for kernel $KO ($A). Skipping..." \
    dkms_t uninstall -k "$KO" "$M/1.0"

# --- unbuild (§2.5): KN installed again first, KO only built
expect_out 0 "$(lines \
    "Installing $T/modules/$KN/updates/dkms/$M.ko.xz" \
    "Running depmod... done.")" \
    dkms_t install -k "$KN" "$M/1.0"
expect_out 0 "$(lines \
    "Module $M/1.0 is not installed for kernel $KO ($A). Skipping..." \
    "" \
    "$(uninstall_active "$M/1.0" "$KN" "$T/modules/$KN/updates/dkms/$M.ko.xz")")" \
    dkms_t unbuild -k "$KO" -k "$KN" "$M/1.0"
assert_no_file "$DTM/$KO"
assert_no_file "$DTM/$KN"
assert_no_file "$T/modules/$KN/updates/dkms/$M.ko.xz"
expect_out 0 "$M/1.0: added" dkms_t status
expect_out 0 "Module $M/1.0 is not installed for kernel $KO ($A). Skipping...
Module $M/1.0 is not built for kernel $KO ($A). Skipping..." \
    dkms_t unbuild -k "$KO" "$M/1.0"

# --- install with an implicit build (§2.3 step 2)
expect_out 0 "$(lines \
    "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $BUILD_KO" \
    "Installing $T/modules/$KO/updates/dkms/$M.ko" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" "$M/1.0"
assert_signed "$T/modules/$KO/updates/dkms/$M.ko"

# --- remove: an empty line after every kernel (§2.6)
expect_out 0 "$(lines \
    "$(uninstall_active "$M/1.0" "$KO" "$T/modules/$KO/updates/dkms/$M.ko")" \
    "" \
    "Module $M/1.0 is not installed for kernel $KN ($A). Skipping..." \
    "Module $M/1.0 is not built for kernel $KN ($A). Skipping..." \
    "" \
    "Deleting module $M/1.0 completely from the DKMS tree.")" \
    dkms_t remove -k "$KO" -k "$KN" "$M/1.0"
assert_no_file "$T/dkms/$M"
assert_no_file "$T/modules/$KO/updates"
assert_file "$T/src/$M-1.0/dkms.conf" "remove keeps ST/m-v"
expect_out 0 "" dkms_t status

# The kept source can be added again by name; remove --all with nothing
# built prints only the last line (§2.6).
expect_out 0 "Creating symlink $DTM/source -> $T/src/$M-1.0" dkms_t add "$M/1.0"
expect_out 0 "Deleting module $M/1.0 completely from the DKMS tree." dkms_t remove --all "$M/1.0"
assert_no_file "$T/dkms/$M"

finish
