#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# dkms status with its caches (DT/m/v/.conf-cache-K-A, DT/.module-index-K)
# prints exactly what it prints without them, on a tree with every state;
# and a cache never hides an edit of dkms.conf or a new /etc/dkms override.
# Expected notes follow SPEC §5.4 (upstream's module_status_built_extra).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_kernels 1
make_tree
make_signing_key
K=$(newest_kernels 1)
A=$(uname -m)

# One real build; the other states are copies of it, as a tree would hold.
expect_exit 0 dkms_t add "$TEST_MODULES/dkms_hello_test-1.0"
expect_exit 0 dkms_t install -m dkms_hello_test -v 1.0 -k "$K"
ko=$(ls "$T/dkms/dkms_hello_test/1.0/$K/$A/module/"dkms_hello_test.ko*)
sfx=${ko##*.ko}

clone() { # name conf-sed -> source + DT/m/1.0 with a built copy for K
    local m=$1
    mkdir -p "$T/src/$m-1.0" "$T/dkms/$m/1.0/$K/$A/module"
    sed -e "s/dkms_hello_test/$m/g" ${2:+-e "$2"} \
        "$TEST_MODULES/dkms_hello_test-1.0/dkms.conf" >"$T/src/$m-1.0/dkms.conf"
    ln -s "$T/src/$m-1.0" "$T/dkms/$m/1.0/source"
    cp "$ko" "$T/dkms/$m/1.0/$K/$A/module/$m.ko$sfx"
}
install_copy() { # name: installed state by hand
    cp "$T/dkms/$1/1.0/$K/$A/module/$1.ko$sfx" "$T/modules/$K/updates/dkms/"
    ln -s "1.0/$K/$A" "$T/dkms/$1/kernel-$K-$A"
}
clone m_built
clone m_orig; install_copy m_orig; mkdir -p "$T/dkms/m_orig/original_module/$K/$A"
clone m_diff; install_copy m_diff; echo x >>"$T/modules/$K/updates/dkms/m_diff.ko$sfx"
clone m_missing; rm "$T/dkms/m_missing/1.0/$K/$A/module/m_missing.ko$sfx"
clone m_badconf 's|/updates/dkms|/opt/x|'
clone m_dynamic 's|^PACKAGE_VERSION=.*|PACKAGE_VERSION="$(echo 1.0)"|'
install_copy m_dynamic
mkdir -p "$T/src/m_added-1.0"
sed -e s/dkms_hello_test/m_added/g "$TEST_MODULES/dkms_hello_test-1.0/dkms.conf" \
    >"$T/src/m_added-1.0/dkms.conf"
expect_exit 0 dkms_t add -m m_added -v 1.0
mkdir -p "$T/dkms/m_broken/1.0"
ln -s "$T/src/nowhere" "$T/dkms/m_broken/1.0/source"
sleep 1.1 # the caches ignore what changed within the last second

expected="m_added/1.0: added
m_badconf/1.0, $K, $A: builtdkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with
'/kernel', '/updates', or '/extra' in record #0.

m_broken/1.0: broken

Error! m_broken/1.0: Missing the module source directory or the symbolic link pointing to it.
Manual intervention is required!
m_built/1.0, $K, $A: built
m_diff/1.0, $K, $A: installed (Differences between built and installed modules)
m_dynamic/1.0, $K, $A: installed
m_missing/1.0, $K, $A: built (Built modules are missing in the kernel modules folder)
m_orig/1.0, $K, $A: installed (Original modules exist)"
hello="dkms_hello_test/1.0, $K, $A: installed"

expect_exit 0 dkms_t status
first=$OUT
assert_eq "$(grep -v '^dkms_hello' <<<"$first")" "$expected"
assert_contains "$first" "$hello"
assert_file "$T/dkms/m_diff/1.0/.conf-cache-$K-$A"
assert_file "$T/dkms/.module-index-$K"
assert_no_file "$T/dkms/m_badconf/1.0/.conf-cache-$K-$A"
assert_no_file "$T/dkms/m_dynamic/1.0/.conf-cache-$K-$A"

expect_exit 0 dkms_t status
assert_eq "$OUT" "$first"
rm -f "$T"/dkms/*/*/.conf-cache-* "$T"/dkms/.module-index-*
expect_exit 0 dkms_t status
assert_eq "$OUT" "$first"
expect_exit 0 dkms_t status -m m_diff
assert_eq "$OUT" "m_diff/1.0, $K, $A: installed (Differences between built and installed modules)"

# An upstream-written tree has no caches; remove deletes ours with the dir.
expect_exit 0 dkms_t remove -m m_built -v 1.0 --all
assert_no_file "$T/dkms/m_built"

# Stale: an edited dkms.conf (same size, so only the timestamps tell).
sed -i 's/^BUILT_MODULE_NAME\[0\]="m_orig"/BUILT_MODULE_NAME[0]="m_orXX"/' \
    "$T/src/m_orig-1.0/dkms.conf"
expect_exit 0 dkms_t status -m m_orig
assert_eq "$OUT" "m_orig/1.0, $K, $A: installed (Original modules exist) (Built modules are missing in the kernel modules folder)"

# The compression suffix (SPEC §6.5: the last of .gz .xz .zst found
# anywhere under IT/K). Status trusts the suffix record while the top two
# levels of IT/K are unchanged (depmod, kernel packages and dkms change
# those whenever they add modules); commands that change the tree walk it.
IK="$T/modules/$K"
mkdir -p "$IK/kernel/drivers/net" "$T/src/m_xz-1.0" "$T/dkms/m_xz/1.0/$K/$A/module"
sed -e s/dkms_hello_test/m_xz/g "$TEST_MODULES/dkms_hello_test-1.0/dkms.conf" \
    >"$T/src/m_xz-1.0/dkms.conf"
ln -s "$T/src/m_xz-1.0" "$T/dkms/m_xz/1.0/source"
xz -c --check=crc32 "$(ls "$T/dkms/m_dynamic/1.0/$K/$A/module/"m_dynamic.ko*)" \
    >"$T/dkms/m_xz/1.0/$K/$A/module/m_xz.ko.xz"
cp "$T/dkms/m_xz/1.0/$K/$A/module/m_xz.ko.xz" "$IK/updates/dkms/"
ln -s "1.0/$K/$A" "$T/dkms/m_xz/kernel-$K-$A"
touch "$IK/kernel/drivers/net/witness.ko.xz"
rm -f "$T/dkms/.module-index-$K"
sleep 1.1 # the record is kept only when no directory changed in the last second
xz_ok="m_xz/1.0, $K, $A: installed"
xz_missing="$xz_ok (Built modules are missing in the kernel modules folder)"
expect_exit 0 dkms_t status -m m_xz
assert_eq "$OUT" "$xz_ok" "suffix .xz from the full walk"
assert_eq "$(sed -n 3p "$T/dkms/.module-index-$K")" ".xz" "suffix record"
# Deeper than two levels, alone: status keeps the recorded answer.
touch "$IK/kernel/drivers/net/deep.ko.zst"
expect_exit 0 dkms_t status -m m_xz
assert_eq "$OUT" "$xz_ok" "a change below the top levels, read-only status"
# A command that changes the tree walks all of it; a walk that disagrees
# with the record removes it even when it cannot record its own answer
# (a directory changed within the last second).
expect_exit 0 dkms_t uninstall -m m_xz -v 1.0 -k "$K"
if [[ $(sed -n 3p "$T/dkms/.module-index-$K" 2>/dev/null) == .xz ]]; then
    _lib_fail "the stale suffix record survived a full walk that found .zst"
else
    _lib_pass
fi
cp "$T/dkms/m_xz/1.0/$K/$A/module/m_xz.ko.xz" "$IK/updates/dkms/"
ln -sfn "1.0/$K/$A" "$T/dkms/m_xz/kernel-$K-$A"
expect_exit 0 dkms_t status -m m_xz
assert_eq "$OUT" "$xz_missing" "after the full walk found .zst"
sleep 1.1
expect_exit 0 dkms_t uninstall -m m_xz -v 1.0 -k "$K"
assert_eq "$(sed -n 3p "$T/dkms/.module-index-$K")" ".zst" "the full walk recorded .zst"
cp "$T/dkms/m_xz/1.0/$K/$A/module/m_xz.ko.xz" "$IK/updates/dkms/"
ln -sfn "1.0/$K/$A" "$T/dkms/m_xz/kernel-$K-$A"
# At the top levels: status sees it at once (a new directory in IT/K).
rm "$IK/kernel/drivers/net/deep.ko.zst"
rm -f "$T/dkms/.module-index-$K"
sleep 1.1
expect_exit 0 dkms_t status -m m_xz
assert_eq "$OUT" "$xz_ok" "suffix .xz again"
mkdir "$IK/extra"
touch "$IK/extra/other.ko.zst"
expect_exit 0 dkms_t status -m m_xz
assert_eq "$OUT" "$xz_missing" "a .ko.zst in a new top-level directory"
rm -r "$IK/extra" "$T/dkms/m_xz" "$IK/updates/dkms/m_xz.ko.xz"

# Stale: a new /etc/dkms override (system path: only inside scripts/isolate).
if [[ $EUID == 0 ]] && "$REPO_ROOT/scripts/isolate" true 2>/dev/null; then
    sleep 1.1
    expect_exit 0 dkms_t status -m m_diff # cached again
    expect_exit 0 "$REPO_ROOT/scripts/isolate" bash -c '
        mkdir -p /etc/dkms
        echo "DEST_MODULE_NAME[0]=\"elsewhere\"" >/etc/dkms/m_diff.conf
        "$@"' isolate "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" \
        --installtree "$T/modules" status -m m_diff
    assert_eq "$OUT" "m_diff/1.0, $K, $A: installed (Built modules are missing in the kernel modules folder)"
    expect_exit 0 dkms_t status -m m_diff
    assert_eq "$OUT" "m_diff/1.0, $K, $A: installed (Differences between built and installed modules)"
else
    echo "note: /etc/dkms override case needs root and scripts/isolate"
fi
finish
