#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# dkms.conf features against real kernel headers (SPEC §3): CRLF files,
# values computed per kernel, zero-module and multi-module packages,
# script directives and patches, --directive.
#   conf_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

set_up_kernels 2

# --- CRLF dkms.conf (§3.2 phase A strips one trailing CR per value)
add_pkg dkms_crlf_test-1.0
assert_contains "$(cat "$T/src/dkms_crlf_test-1.0/dkms.conf")" $'\r' "the package really has CRLF lines"
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/dkms_crlf_test/1.0/build/dkms_crlf_test.ko")" \
    dkms_t build -k "$KO" dkms_crlf_test/1.0
assert_file "$T/dkms/dkms_crlf_test/1.0/$KO/$A/module/dkms_crlf_test.ko"
expect_out 0 "dkms_crlf_test/1.0, $KO, $A: built" dkms_t status dkms_crlf_test

# --- values computed from $kernelver while the file is read (§3.2)
add_pkg dkms_kver_test-1.0
KVER_BUILD="$T/dkms/dkms_kver_test/1.0/build"
expect_out 0 "$(lines \
    "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $KVER_BUILD/dkms_kver_test.ko" \
    "$(prologue "$KN")" "" \
    "Building module(s)... done." \
    "Signing module $KVER_BUILD/dkms_kver_test.ko")" \
    dkms_t build -k "$KO" -k "$KN" dkms_kver_test/1.0
for k in "$KO" "$KN"; do
    # The same rule as the package's case statement.
    case $k in
        6.1.*) branch=six_one ;;
        *) branch=other ;;
    esac
    ko="$T/dkms/dkms_kver_test/1.0/$k/$A/module/dkms_kver_test.ko"
    assert_eq "$branch" "$(modinfo -F kver_branch "$ko" 2>&1)" "kver_branch for $k"
    assert_eq "${k%%.*}" "$(modinfo -F kver_major "$ko" 2>&1)" "kver_major for $k"
    assert_eq "# command: make -j1 KERNELRELEASE=$k -C $T/modules/$k/build M=$KVER_BUILD KVER_BRANCH=$branch KVER_MAJOR=${k%%.*}" \
        "$(grep '^# command: ' "$T/dkms/dkms_kver_test/1.0/$k/$A/log/make.log")" "make command for $k"
done

# --- zero modules (§3.5): warned about, but add, build and install work;
# --directive lines are printed once per evaluation (§3.1): twice when a
# tree is added by path (import + add).
copy_pkg dkms_zero_test-1.0 "$T/zero-pkg"
ZERO_WARN="dkms.conf: Warning! Zero modules specified."
expect_out 0 "$(lines \
    'DIRECTIVE: DKMS_IT_NOTE="two words"' \
    'DIRECTIVE: DKMS_IT_NOTE="two words"' \
    "$ZERO_WARN" \
    "Creating symlink $T/dkms/dkms_zero_test/1.0/source -> $T/src/dkms_zero_test-1.0")" \
    dkms_t add "$T/zero-pkg" --directive "DKMS_IT_NOTE=two words"
expect_out 0 "$(lines "$ZERO_WARN" "$(prologue "$KO")" "" \
    "Building module(s)... done.")" \
    dkms_t build -k "$KO" dkms_zero_test/1.0
assert_file "$T/dkms/dkms_zero_test/1.0/$KO/$A/module"
assert_eq "" "$(find "$T/dkms/dkms_zero_test/1.0/$KO/$A/module" -name '*.ko*')" "no module files"
expect_out 0 "$(lines "$ZERO_WARN" "Running depmod... done.")" \
    dkms_t install -k "$KO" dkms_zero_test/1.0
assert_eq "1.0/$KO/$A" "$(readlink "$T/dkms/dkms_zero_test/kernel-$KO-$A")" "zero-module package is installed"
expect_out 0 "dkms_zero_test/1.0, $KO, $A: installed" dkms_t status dkms_zero_test

# --- two modules: one in a subdirectory, one renamed, STRIP per slot
add_pkg dkms_multi_test-1.0
MB="$T/dkms/dkms_multi_test/1.0/build"
MI="$T/modules/$KO/updates/dkms"
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $MB/dkms_multi_test.ko" \
    "Signing module $MB/sub/dkms_multi_sub.ko" \
    "Installing $MI/dkms_multi_renamed.ko" \
    "Installing $MI/dkms_multi_sub.ko" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" dkms_multi_test/1.0
assert_eq "$(lines Module.symvers dkms_multi_renamed.ko dkms_multi_sub.ko)" \
    "$(ls "$T/dkms/dkms_multi_test/1.0/$KO/$A/module" | sort)" "BASE/module of the multi package"
assert_eq "$(lines dkms_multi_renamed.ko dkms_multi_sub.ko)" "$(ls "$MI" | sort)" "installed files"
assert_signed "$MI/dkms_multi_renamed.ko"
assert_signed "$MI/dkms_multi_sub.ko"
if grep -q '^CONFIG_DEBUG_INFO=y' "/lib/modules/$KO/build/include/config/auto.conf"; then
    # STRIP[1]="no" keeps the debug info the kernel config asks for.
    assert_not_contains "$(readelf -S "$MI/dkms_multi_renamed.ko")" ".debug_info" "slot 0 is stripped"
    assert_contains "$(readelf -S "$MI/dkms_multi_sub.ko")" ".debug_info" "slot 1 is not stripped"
fi
expect_out 0 "$(lines \
    "$(uninstall_active dkms_multi_test/1.0 "$KO" "$MI/dkms_multi_renamed.ko" "$MI/dkms_multi_sub.ko")")" \
    dkms_t uninstall -k "$KO" dkms_multi_test/1.0
assert_no_file "$MI"

# --- script directives and patches (§3.7, §3.9)
S=dkms_scripts_test
SB="$T/dkms/$S/1.0/build"
SS="$T/dkms/$S/1.0/source"
# POST_ADD runs unlogged, its status is add's status.
copy_pkg "$S-1.0" "$T/src/$S-1.0"
DKMS_SCRIPTS_TEST_FAIL=post_add expect_out 3 "$(lines \
    "Creating symlink $SS -> $T/src/$S-1.0" \
    "Running the post_add script:" \
    "hooks.sh post_add: stdout" \
    "hooks.sh post_add: stderr")" \
    dkms_t add "$S/1.0"
expect_out 0 "$S/1.0: added" dkms_t status "$S"

# A failing PRE_BUILD ends the build with the script's status (§3.9).
DKMS_SCRIPTS_TEST_FAIL=pre_build expect_out 3 "$(lines "$(prologue "$KO")" "" \
    "Applying patch z-first.patch... done." \
    "Applying patch a-second.patch... done." \
    "Running the pre_build script...(bad exit status: 3)" \
    "Failed command:" \
    "cd $SB/ && $SB/hooks.sh pre_build" \
    "Consult $SB/make.log for more information.")" \
    dkms_t build -k "$KO" "$S/1.0"
assert_no_file "$T/dkms/$S/1.0/$KO/$A"

# The normal build: script and patch output only in make.log.
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Applying patch z-first.patch... done." \
    "Applying patch a-second.patch... done." \
    "Running the pre_build script... done." \
    "Building module(s)... done." \
    "Signing module $SB/$S.ko" \
    "Running the post_build script... done.")" \
    dkms_t build -k "$KO" "$S/1.0"

# What patch itself prints for the two patches, applied in array order.
mkdir "$T/patchcheck"
cp -a "$TEST_MODULES/$S-1.0/." "$T/patchcheck/"
patch1_out=$(cd "$T/patchcheck" && patch -p1 <./patches/z-first.patch 2>&1)
patch2_out=$(cd "$T/patchcheck" && patch -p1 <./patches/a-second.patch 2>&1)
block_end=$(lines "" "# exit code: 0" "# elapsed time: <elapsed>" \
    "----------------------------------------------------------------")
assert_eq "$(lines \
    "DKMS (dkms-3.2.2) make.log for $S/1.0 for kernel $KO ($A)" \
    "<date>" \
    "" \
    "Applying patch z-first.patch" \
    "# command: patch -p1 < ./patches/z-first.patch" \
    "$patch1_out" \
    "$block_end" \
    "" \
    "Applying patch a-second.patch" \
    "# command: patch -p1 < ./patches/a-second.patch" \
    "$patch2_out" \
    "$block_end" \
    "" \
    "Running the pre_build script" \
    "# command: cd $SB/ && $SB/hooks.sh pre_build" \
    "hooks.sh pre_build: stdout" \
    "hooks.sh pre_build: stderr" \
    "$block_end" \
    "" \
    "Building module(s)" \
    "# command: make -j1 KERNELRELEASE=$KO -C $T/modules/$KO/build M=$SB" \
    "<make output>" \
    "$block_end" \
    "" \
    "Running the post_build script" \
    "# command: cd $SB/ && $SB/hooks.sh post_build" \
    "hooks.sh post_build: stdout" \
    "hooks.sh post_build: stderr" \
    "$block_end")" \
    "$(make_log_shape "$T/dkms/$S/1.0/$KO/$A/log/make.log")" "make.log with patches and scripts"

# A failing PRE_INSTALL stops the install (101).
DKMS_SCRIPTS_TEST_FAIL=pre_install expect_out 101 "$(lines \
    "Running the pre_install script:" \
    "hooks.sh pre_install: stdout" \
    "hooks.sh pre_install: stderr" \
    "" \
    "Error! pre_install failed, aborting install." \
    "You may override by specifying --force.")" \
    dkms_t install -k "$KO" "$S/1.0"
assert_no_file "$T/modules/$KO/updates/dkms/$S.ko"

expect_out 0 "$(lines \
    "Running the pre_install script:" \
    "hooks.sh pre_install: stdout" \
    "hooks.sh pre_install: stderr" \
    "Installing $T/modules/$KO/updates/dkms/$S.ko" \
    "Running the post_install script:" \
    "hooks.sh post_install: stdout" \
    "hooks.sh post_install: stderr" \
    "Running depmod... done.")" \
    dkms_t install -k "$KO" "$S/1.0"

expect_out 0 "$(lines \
    "Module $S/1.0 for kernel $KO ($A):" \
    "Before uninstall, this module version was ACTIVE on this kernel." \
    "Deleting $T/modules/$KO/updates/dkms/$S.ko" \
    "Running the post_remove script:" \
    "hooks.sh post_remove: stdout" \
    "hooks.sh post_remove: stderr" \
    "Running depmod... done.")" \
    dkms_t uninstall -k "$KO" "$S/1.0"

# remove of a pair that is built but not installed: no uninstall, no script.
expect_out 0 "$(lines \
    "Module $S/1.0 is not installed for kernel $KO ($A). Skipping..." \
    "" \
    "Deleting module $S/1.0 completely from the DKMS tree.")" \
    dkms_t remove -k "$KO" "$S/1.0"

finish
