#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Error paths: exit codes and exact messages (SPEC §0.3 error format, §1,
# §2, §8), against real kernel headers where a build is involved.
#   errors_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

set_up_kernels 1

# The usage text of §1.6, with the invoked path as argv0.
usage() {
    lines "Usage: $DKMS [action] [options]" \
        "  [action]  = { add | remove | build | unbuild | install | uninstall | match |" \
        "               autoinstall | mktarball | ldtarball | status | generate_mok |" \
        "               kernel_preinst | kernel_postinst | kernel_prerm }" \
        "  [options] = [-m module] [-v module-version] [-k kernel-version] [-a arch]" \
        "              [-c dkms.conf-location] [-q] [--force] [--force-version-override] [--all]" \
        "              [--templatekernel=kernel] [--directive='cli-directive=cli-value']" \
        "              [--config=kernel-include/config/auto.conf-location] [--archive=tarball-location]" \
        "              [--kernelsourcedir=source-location] [--rpm_safe_upgrade]" \
        "              [--dkmstree path] [--sourcetree path] [--installtree path]" \
        "              [--binaries-only] [--source-only] [--verbose]" \
        "              [--no-depmod] [--modprobe-on-install] [-j number] [--version] [--help]"
}

# "Arguments not specified" block of §2.0 for action $1.
args_usage() {
    lines "" \
        "Error! Arguments <module> and <module-version> are not specified." \
        "Usage: $1 <module>/<module-version> or" \
        "       $1 -m <module>/<module-version> or" \
        "       $1 -m <module> -v <module-version>"
}

# --- command line (§1)
expect_out 0 "dkms-3.2.2" dkms_t --version
expect_out 2 "$(lines "" "Error! Unknown option: --bogus" "$(usage)")" dkms_t --bogus
# Short options take only a separate value (§1.1).
expect_out 2 "$(lines "" "Error! Unknown option: -j4" "$(usage)")" dkms_t build -j4 x/1
expect_out 0 "$(lines "" 'Error! Unknown action specified: ""' "$(usage)")" dkms_t
expect_out 0 "$(usage)" dkms_t --help
expect_out 4 "$(lines "" "Error! Cannot specify more than one action.")" dkms_t build install
expect_out 2 "$(lines "" "Error! You cannot specify a kernel version and also specify" \
    "--all on the command line.")" dkms_t uninstall -k "$KO" --all x/1
expect_out 5 "$(lines "" "Error! The action add does not support the --all parameter.")" \
    dkms_t add --all x/1
expect_out 4 "$(lines "" \
    "Error! The action kernel_prerm requires exactly one kernel version parameter on the command line.")" \
    dkms_t kernel_prerm
expect_out 1 "$(args_usage uninstall)" dkms_t uninstall -k "$KO"
expect_out 16 "$(lines "" "Error! Empty kernelver[0]")" dkms_t build -k "" x/1

# --- the $TMPDIR check every run starts with: nothing left behind in it;
# a TMPDIR where no file can be made stops dkms; a full one warns.
mkdir -p "$T/tmpdir"
TMPDIR=$T/tmpdir expect_out 0 "dkms-3.2.2" dkms_t --version
assert_eq "" "$(ls -A "$T/tmpdir")" "files left in TMPDIR"
TMPDIR=$T/no-such-dir expect_out 1 "$(lines "" "Error! Unable to make temporary file.")" \
    dkms_t --version
if ((EUID == 0)) && unshare -m true 2>/dev/null; then
    full=$T/full-tmp
    mkdir -p "$full"
    out=$(unshare -m bash -c 'mount -t tmpfs -o size=64k tmpfs "$1" &&
        { dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; TMPDIR=$1 "${@:2}"; }' _ \
        "$full" "$DKMS" --version 2>&1)
    # Upstream prints bash's echo write error first, then the same lines.
    assert_eq "$(lines \
        "Warning: dkms will not function properly without some free space in \$TMPDIR ($full)." \
        "dkms-3.2.2")" "$out" "full TMPDIR"
fi

# --- pairs that are not there
expect_out 3 "$(lines "" "Error! The module/version combo: nosuch/1.0 is not located in the DKMS tree.")" \
    dkms_t remove --all nosuch/1.0
expect_out 2 "$(lines "" "Error! Could not find module source directory." \
    "Directory: $T/src/nosuch-1.0 does not exist.")" \
    dkms_t build -k "$KO" nosuch/1.0
assert_no_file "$T/dkms/nosuch"

# --- add of paths that are not source trees (§1.1 rules 2, 3, 5; §2.1)
# A directory without dkms.conf is not a source tree; as a module/version
# argument "/abs/dir" gives an empty module name.
mkdir "$T/emptydir"
expect_out 1 "$(args_usage add)" dkms_t add "$T/emptydir"
# A file named *dkms.conf makes its directory (name minus "dkms.conf") the
# source tree; here that directory does not hold a dkms.conf.
mkdir "$T/confdir"
echo 'PACKAGE_NAME=x' >"$T/confdir/old.dkms.conf"
expect_out 9 "$(lines "" "Error! $T/confdir/old../ must contain a dkms.conf file!")" \
    dkms_t add "$T/confdir/old.dkms.conf"
assert_eq "" "$(ls -A "$T/src")$(ls "$T/dkms")" "nothing was added"

# --- invalid dkms.conf (§3.4): by path, then by name from the source tree
BADCONF_LINES=$(lines "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with" \
    "'/kernel', '/updates', or '/extra' in record #0.")
copy_pkg dkms_badconf_test-1.0 "$T/badconf"
expect_out 8 "$(lines "$BADCONF_LINES" "" "Error! Bad conf file." \
    "File: $T/badconf/dkms.conf does not represent a valid dkms.conf file.")" \
    dkms_t add "$T/badconf"
assert_no_file "$T/src/dkms_badconf_test-1.0"
copy_pkg dkms_badconf_test-1.0 "$T/src/dkms_badconf_test-1.0"
expect_out 8 "$(lines "$BADCONF_LINES" "" "Error! Bad conf file." \
    "File: $T/src/dkms_badconf_test-1.0/dkms.conf does not represent a valid dkms.conf file.")" \
    dkms_t add dkms_badconf_test/1.0
assert_no_file "$T/dkms/dkms_badconf_test"

# --- BUILD_EXCLUSIVE (§2.2 step 5): a warning block, exit 77, nothing built
add_pkg dkms_excl_test-1.0
expect_out 77 "$(excl_warning dkms_excl_test/1.0 "$KO")" \
    dkms_t build -k "$KO" dkms_excl_test/1.0
expect_out 0 "dkms_excl_test/1.0: added" dkms_t status dkms_excl_test

# --- make fails (§0.3 runner failure form, §2.2 step 14)
add_pkg dkms_fail_test-1.0
FAIL_BUILD="$T/dkms/dkms_fail_test/1.0/build"
expect_out 10 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)...(bad exit status: 2)" \
    "Failed command:" \
    "make -j1 KERNELRELEASE=$KO -C $T/modules/$KO/build M=$FAIL_BUILD" \
    "" \
    "Error! Bad return status for module build on kernel: $KO ($A)" \
    "Consult $FAIL_BUILD/make.log for more information.")" \
    dkms_t build -k "$KO" dkms_fail_test/1.0
assert_file "$FAIL_BUILD/make.log" "make.log stays in build/ after a failure"
assert_file "$FAIL_BUILD/dkms_fail_test.c" "sources stay in build/ after a failure"
failed_log=$(make_log_shape "$FAIL_BUILD/make.log")
assert_eq "DKMS (dkms-3.2.2) make.log for dkms_fail_test/1.0 for kernel $KO ($A)" \
    "$(sed -n 1p <<<"$failed_log")" "make.log header"
assert_eq "<date>" "$(sed -n 2p <<<"$failed_log")" "make.log date line"
assert_eq "$(lines "" "# exit code: 2" "# elapsed time: <elapsed>" \
    "----------------------------------------------------------------")" \
    "$(tail -n 4 <<<"$failed_log")" "make.log end of a failed build"
assert_contains "$(cat "$FAIL_BUILD/make.log")" "deliberate build failure" "compiler error is logged"
assert_no_file "$T/dkms/dkms_fail_test/1.0/$KO/$A"
expect_out 0 "dkms_fail_test/1.0: added" dkms_t status dkms_fail_test

# --- make succeeds without the named module (§2.2 step 15)
add_pkg dkms_missing_test-1.0
expect_out 7 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "" \
    "Error! Build of dkms_missing_test.ko failed for: $KO ($A)" \
    "Make sure the name and location of the generated module are correct," \
    "or consult $T/dkms/dkms_missing_test/1.0/build/make.log for more information.")" \
    dkms_t build -k "$KO" dkms_missing_test/1.0
assert_file "$T/dkms/dkms_missing_test/1.0/build/make.log"
assert_no_file "$T/dkms/dkms_missing_test/1.0/$KO/$A"

# --- kernel without headers (§6.1): exit 21
add_pkg dkms_hello_test-1.0
expect_out 21 "$(lines "" \
    "Error! Your kernel headers for kernel 9.9.9-none cannot be found at $T/modules/9.9.9-none/build or $T/modules/9.9.9-none/source." \
    "Please install the linux-headers-9.9.9-none package or use the --kernelsourcedir option to tell DKMS where it's located.")" \
    dkms_t build -k 9.9.9-none dkms_hello_test/1.0
assert_no_file "$T/dkms/dkms_hello_test/1.0/9.9.9-none"

# --- missing BUILD_DEPENDS (§2.2 step 9): checked after the prologue
add_pkg dkms_deps_test-1.0
expect_out 13 "$(lines "$(prologue "$KO")" "" "" \
    "Error! Aborting build of module dkms_deps_test/1.0 for kernel $KO ($A) due to missing BUILD_DEPENDS: dkms_hello_test." \
    "You may override by specifying --force.")" \
    dkms_t build -k "$KO" dkms_deps_test/1.0

# --- install onto a kernel whose directory is gone (§2.3 step 4)
expect_out 0 "$(lines "$(prologue "$KO")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/dkms_hello_test/1.0/build/dkms_hello_test.ko")" \
    dkms_t build -k "$KO" dkms_hello_test/1.0
mv "$T/modules/$KO" "$T/modules-away"
expect_out 6 "$(lines "" "Error! The directory $T/modules/$KO doesn't exist." \
    "You cannot install a module onto a non-existant kernel.")" \
    dkms_t install -k "$KO" dkms_hello_test/1.0
mv "$T/modules-away" "$T/modules/$KO"
assert_no_file "$T/dkms/dkms_hello_test/kernel-$KO-$A"
expect_out 5 "$(lines "" "Error! The action install does not support the --all parameter.")" \
    dkms_t install --all dkms_hello_test/1.0

# --- broken pair (§5.2, §5.4, §2.0): source directory deleted by hand
rm -rf "$T/src/dkms_excl_test-1.0"
expect_out 0 "$(lines "dkms_excl_test/1.0: broken" "" \
    "Error! dkms_excl_test/1.0: Missing the module source directory or the symbolic link pointing to it." \
    "Manual intervention is required!")" \
    dkms_t status dkms_excl_test
expect_out 4 "$(lines "" "Error! dkms_excl_test/1.0 is broken!" \
    "Missing the source directory or the symbolic link pointing to it." \
    "Manual intervention is required!")" \
    dkms_t remove --all dkms_excl_test/1.0

finish
