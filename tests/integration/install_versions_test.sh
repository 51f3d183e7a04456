#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install-time checks against real kernel headers (SPEC §2.3, §7.2-§7.6,
# §5.4 status extras): upgrade and refused downgrade of a versioned
# package, an identical unversioned module already in place, replacing
# and restoring a kernel's own module, --force rebuild and reinstall, and
# the status notes for a tampered or missing module file.
#   install_versions_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

set_up_kernels 1

V=dkms_ver_test
VI="$T/modules/$KO/updates/dkms/$V.ko"
add_pkg "$V-1.0"
add_pkg "$V-2.0"

# --- 1.0, then the upgrade to 2.0: the kernel-K-A link exists, so nothing
# is archived (§7.3) and the 1.0 file is simply overwritten.
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$V/1.0/build/$V.ko" \
    "Installing $VI" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" "$V/1.0"
assert_eq "1.0" "$(modinfo -F version "$VI")" "1.0 installed"
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$V/2.0/build/$V.ko" \
    "Installing $VI" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" "$V/2.0"
assert_eq "2.0" "$(modinfo -F version "$VI")" "2.0 installed"
assert_eq "2.0/$KO/$A" "$(readlink "$T/dkms/$V/kernel-$KO-$A")" "link points at 2.0"
assert_no_file "$T/dkms/$V/original_module"
expect_out 0 "$(lines "$V/1.0, $KO, $A: built" "$V/2.0, $KO, $A: installed")" dkms_t status "$V"

# --- downgrade refused (§7.2 step 6, §2.3 step 11)
expect_out 6 "$(lines "" \
    "Error! Module version 1.0 for $V.ko" \
    "is not newer than what is already found in kernel $KO (2.0)." \
    "You may override by specifying --force." \
    "" \
    "Error! Installation aborted.")" \
    dkms_t install -k "$KO" "$V/1.0"
assert_eq "2.0" "$(modinfo -F version "$VI")" "2.0 still installed"
assert_eq "2.0/$KO/$A" "$(readlink "$T/dkms/$V/kernel-$KO-$A")" "link still points at 2.0"

# --- --force: build rebuilds without uninstalling (§2.2), install
# uninstalls first, then an empty line (§2.3)
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$V/2.0/build/$V.ko")" \
    dkms_t build --force -k "$KO" "$V/2.0"
assert_eq "2.0/$KO/$A" "$(readlink "$T/dkms/$V/kernel-$KO-$A")" "a forced build keeps the link"
assert_file "$VI" "a forced build keeps the installed file"
expect_out 0 "$(lines \
    "$(uninstall_active "$V/2.0" "$KO" "$VI")" \
    "" \
    "Installing $VI" \
    "Running depmod... done.")" \
    dkms_t install --force -k "$KO" "$V/2.0"
if cmp -s "$T/dkms/$V/2.0/$KO/$A/module/$V.ko" "$VI"; then _lib_pass; else _lib_fail "reinstalled file differs from BASE"; fi

# --- status notes (§5.4 extras)
cp "$VI" "$T/saved.ko"
printf 'tampered' >>"$VI"
expect_out 0 "$(lines "$V/1.0, $KO, $A: built" \
    "$V/2.0, $KO, $A: installed (Differences between built and installed modules)")" \
    dkms_t status "$V"
cp "$T/saved.ko" "$VI"
expect_out 0 "$(lines "$V/1.0, $KO, $A: built" "$V/2.0, $KO, $A: installed")" dkms_t status "$V"
rm "$T/dkms/$V/2.0/$KO/$A/module/$V.ko"
expect_out 0 "$(lines "$V/1.0, $KO, $A: built" \
    "$V/2.0, $KO, $A: installed (Built modules are missing in the kernel modules folder)")" \
    dkms_t status "$V"
# Without its BASE file the installed copy cannot be matched (§7.6 step 3);
# the uninstall still succeeds.
expect_out 0 "$(lines \
    "Module $V/2.0 for kernel $KO ($A):" \
    "Before uninstall, this module version was ACTIVE on this kernel." \
    "Module $V.ko was not found within $T/modules/$KO/" \
    "Running depmod... done.")" \
    dkms_t uninstall -k "$KO" "$V/2.0"
assert_no_file "$T/dkms/$V/kernel-$KO-$A"
rm -f "$VI"

# --- an identical unversioned module already in place (§7.2 step 7)
N=dkms_noversion_test
add_pkg "$N-1.0"
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$N/1.0/build/$N.ko")" \
    dkms_t build -k "$KO" "$N/1.0"
assert_eq "" "$(modinfo -F version "$T/dkms/$N/1.0/$KO/$A/module/$N.ko")" "the module has no version"
mkdir -p "$T/modules/$KO/updates/dkms"
cp "$T/dkms/$N/1.0/$KO/$A/module/$N.ko" "$T/modules/$KO/updates/dkms/$N.ko"
expect_out 6 "$(lines \
    "Module $T/modules/$KO/updates/dkms/$N.ko already installed (unversioned module), override by specifying --force" \
    "" \
    "Error! Installation aborted.")" \
    dkms_t install -k "$KO" "$N/1.0"
assert_no_file "$T/dkms/$N/kernel-$KO-$A"
# --force skips the check; the file in the way is archived (§7.3).
expect_out 0 "$(lines \
    "Found pre-existing $T/modules/$KO/updates/dkms/$N.ko, archiving for uninstallation" \
    "Installing $T/modules/$KO/updates/dkms/$N.ko" \
    "Running depmod... done.")" \
    dkms_t install --force -k "$KO" "$N/1.0"
expect_out 0 "$N/1.0, $KO, $A: installed (Original modules exist)" dkms_t status "$N"

# --- replacing the kernel's own module (§7.3) and restoring it (§7.6),
# on the newest kernel with xz modules
R=dkms_replace_test
fake_dummy_kernel "$KN" xz
ORIG="$T/modules/$KN/kernel/drivers/net/dummy.ko.xz"
cp "$ORIG" "$T/orig-dummy.ko.xz"
add_pkg "$R-1.0"
expect_out 0 "$(lines "$(prologue "$KN")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$R/1.0/build/dummy.ko" \
    "Found pre-existing $ORIG, archiving for uninstallation" \
    "Installing $T/modules/$KN/updates/dkms/dummy.ko.xz" \
    "Running depmod... done.")" \
    dkms_t install -k "$KN" "$R/1.0"
assert_no_file "$ORIG"
assert_file "$T/dkms/$R/original_module/$KN/$A/dummy.ko.xz"
assert_eq "$ORIG" "$(cat "$T/dkms/$R/original_module/$KN/$A/dummy.ko.xz.origin")" ".origin content"
expect_out 0 "$R/1.0, $KN, $A: installed (Original modules exist)" dkms_t status "$R"
expect_out 0 "$(lines \
    "Module $R/1.0 for kernel $KN ($A):" \
    "Before uninstall, this module version was ACTIVE on this kernel." \
    "Deleting $T/modules/$KN/updates/dkms/dummy.ko.xz" \
    "Restoring archived original module $ORIG" \
    "Running depmod... done.")" \
    dkms_t uninstall -k "$KN" "$R/1.0"
if cmp -s "$T/orig-dummy.ko.xz" "$ORIG"; then _lib_pass; else _lib_fail "restored module differs from the original"; fi
assert_no_file "$T/dkms/$R/original_module"
assert_no_file "$T/modules/$KN/updates"
expect_out 0 "$R/1.0, $KN, $A: built" dkms_t status "$R"

finish
