#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hostile and broken input (issue 6): dkms.conf values that try to leave
# the trees, a dkms.conf that is not a readable file, a truncated one, a
# conf that turns hostile between build and install, a read-only install
# tree and a kernel without headers. Each case checks the exact error, a
# non-zero exit and that nothing in the trees changed (a full listing with
# sizes before == after).
#
# Texts: upstream's "Bad conf file" block, "does not begin with" and
# headers messages (SPEC §3.4, §6.1); the '/', newline and '..' refusals are
# ours (src/core/dkms_conf.cpp: upstream follows such values out of the
# trees).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

((EUID == 0)) || skip "needs root"
require_kernels 1
K=$(newest_kernels 1)

make_tree
make_signing_key

listing() {
    # The lock file is created by the first run and is not tree content.
    (cd "$T" && find dkms src modules ! -path dkms/.dkms.lock ! -name '.module-index-*' \
        ! -name '.conf-cache-*' -printf '%y %s %p -> %l\n' | sort)
}

# conf_pkg DIR NAME LINES...: a package directory with a dkms.conf made of
# PACKAGE_NAME=NAME, PACKAGE_VERSION=1.0 and the given lines.
conf_pkg() {
    local dir=$1 name=$2
    shift 2
    mkdir -p "$dir"
    {
        echo "PACKAGE_NAME=\"$name\""
        echo 'PACKAGE_VERSION="1.0"'
        printf '%s\n' "$@"
    } >"$dir/dkms.conf"
}

# bad_conf_block FILE ERROR-LINES...: the whole output of a refused add.
bad_conf_block() {
    local file=$1
    shift
    lines "$@" "" "Error! Bad conf file." \
        "File: $file does not represent a valid dkms.conf file."
}

# refused_add DIR EXPECTED: `dkms add DIR` exits 8 with EXPECTED and
# changes nothing.
refused_add() {
    local before
    before=$(listing)
    expect_out 8 "$2" dkms_t add "$1"
    assert_eq "$before" "$(listing)" "add of $1 changed the trees"
}

name_error() { # DIRECTIVE
    printf '%s' "dkms.conf: Error! Directive '$1' must be a plain file name (no '/', blank or newline) in record #0."
}
location_error() { # DIRECTIVE
    printf '%s' "dkms.conf: Error! Directive '$1' must not contain '..' components, blanks or newlines in record #0."
}

# --- values that try to escape
P="$T/pkg"
conf_pkg "$P/built_up" dkms_built_up_test 'BUILT_MODULE_NAME[0]="../../x"' \
    'DEST_MODULE_LOCATION[0]="/updates/dkms"'
# DEST_MODULE_NAME defaults to BUILT_MODULE_NAME, so both are refused.
refused_add "$P/built_up" "$(bad_conf_block "$P/built_up/dkms.conf" \
    "$(name_error BUILT_MODULE_NAME)" "$(name_error DEST_MODULE_NAME)")"

conf_pkg "$P/dest_slash" dkms_dest_slash_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_NAME[0]="sub/x"' 'DEST_MODULE_LOCATION[0]="/updates/dkms"'
refused_add "$P/dest_slash" "$(bad_conf_block "$P/dest_slash/dkms.conf" \
    "$(name_error DEST_MODULE_NAME)")"

conf_pkg "$P/kernel_up" dkms_kernel_up_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_LOCATION[0]="/kernel/../../../etc"'
refused_add "$P/kernel_up" "$(bad_conf_block "$P/kernel_up/dkms.conf" \
    "$(location_error DEST_MODULE_LOCATION)")"

conf_pkg "$P/updates_up" dkms_updates_up_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_LOCATION[0]="/updates/../../x"'
refused_add "$P/updates_up" "$(bad_conf_block "$P/updates_up/dkms.conf" \
    "$(location_error DEST_MODULE_LOCATION)")"

conf_pkg "$P/built_loc_up" dkms_built_loc_up_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'BUILT_MODULE_LOCATION[0]="../../.."' 'DEST_MODULE_LOCATION[0]="/updates/dkms"'
refused_add "$P/built_loc_up" "$(bad_conf_block "$P/built_loc_up/dkms.conf" \
    "$(location_error BUILT_MODULE_LOCATION)")"

# Not below /kernel, /updates or /extra (upstream's own check).
conf_pkg "$P/elsewhere" dkms_elsewhere_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_LOCATION[0]="/etc/modprobe.d"'
refused_add "$P/elsewhere" "$(bad_conf_block "$P/elsewhere/dkms.conf" \
    "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with" \
    "'/kernel', '/updates', or '/extra' in record #0.")"

# Newlines inside names: the value is two lines, refused as a whole (not
# cut to its first line).
conf_pkg "$P/built_nl" dkms_built_nl_test 'BUILT_MODULE_NAME[0]="dkms_esc_test' \
    '../../x"' 'DEST_MODULE_LOCATION[0]="/updates/dkms"'
refused_add "$P/built_nl" "$(bad_conf_block "$P/built_nl/dkms.conf" \
    "$(name_error BUILT_MODULE_NAME)" "$(name_error DEST_MODULE_NAME)")"
# Upstream's evaluation turns a newline inside a value into a blank; blanks
# are refused as well.
conf_pkg "$P/dest_nl" dkms_dest_nl_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_NAME[0]="a' 'b"' 'DEST_MODULE_LOCATION[0]="/updates/dkms"'
refused_add "$P/dest_nl" "$(bad_conf_block "$P/dest_nl/dkms.conf" \
    "$(name_error DEST_MODULE_NAME)")"
conf_pkg "$P/loc_nl" dkms_loc_nl_test 'BUILT_MODULE_NAME[0]="dkms_esc_test"' \
    'DEST_MODULE_LOCATION[0]="/updates/dkms' '/etc"'
refused_add "$P/loc_nl" "$(bad_conf_block "$P/loc_nl/dkms.conf" \
    "$(location_error DEST_MODULE_LOCATION)")"

# --- a truncated dkms.conf: the last value's quote never closes, so bash
# stops there and the slot has no destination.
mkdir -p "$P/truncated"
printf '%s\n' 'PACKAGE_NAME="dkms_trunc_test"' 'PACKAGE_VERSION="1.0"' \
    'BUILT_MODULE_NAME[0]="dkms_trunc_test"' >"$P/truncated/dkms.conf"
printf '%s' 'DEST_MODULE_LOCATION[0]="/updates/dk' >>"$P/truncated/dkms.conf"
refused_add "$P/truncated" "$(bad_conf_block "$P/truncated/dkms.conf" \
    "$P/truncated/dkms.conf: line 4: unexpected EOF while looking for matching \`\"'" \
    "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #0.")"

# --- dkms.conf that is not a readable file, in a source tree dkms already
# knows by name (DT/src/m-v): a dangling symlink, then a directory.
ARGS_USAGE=$(lines "" \
    "Error! Arguments <module> and <module-version> are not specified." \
    "Usage: add <module>/<module-version> or" \
    "       add -m <module>/<module-version> or" \
    "       add -m <module> -v <module-version>")
for kind in dangling directory; do
    rm -rf "$T/src/dkms_unread_test-1.0"
    mkdir -p "$T/src/dkms_unread_test-1.0"
    if [[ $kind == dangling ]]; then
        ln -s "$T/nowhere/dkms.conf" "$T/src/dkms_unread_test-1.0/dkms.conf"
    else
        mkdir "$T/src/dkms_unread_test-1.0/dkms.conf"
    fi
    before=$(listing)
    # By path it is no source tree at all (upstream's argument rules).
    expect_out 1 "$ARGS_USAGE" dkms_t add "$T/src/dkms_unread_test-1.0"
    # By name: dkms finds the directory but cannot read its dkms.conf.
    if [[ $kind == dangling ]]; then
        # Upstream's read_conf check ([[ -r file ]]).
        expect_out 4 "$(lines "" "Error! Could not locate dkms.conf file." \
            "File: $T/src/dkms_unread_test-1.0/dkms.conf does not exist.")" \
            dkms_t add dkms_unread_test/1.0
    else
        expect_exit 8 dkms_t add dkms_unread_test/1.0
        assert_contains "$OUT" "$(lines "Error! Bad conf file." \
            "File: $T/src/dkms_unread_test-1.0/dkms.conf does not represent a valid dkms.conf file.")" \
            "add of a source tree whose dkms.conf is a $kind"
    fi
    assert_eq "$before" "$(listing)" "add with a $kind dkms.conf changed the trees"
done
rm -rf "$T/src/dkms_unread_test-1.0"

# --- a kernel without headers
expect_exit 0 dkms_t add "$TEST_MODULES/dkms_hello_test-1.0"
before=$(listing)
expect_out 21 "$(lines "" \
    "Error! Your kernel headers for kernel 0.0.1-none cannot be found at $T/modules/0.0.1-none/build or $T/modules/0.0.1-none/source." \
    "Please install the linux-headers-0.0.1-none package or use the --kernelsourcedir option to tell DKMS where it's located.")" \
    dkms_t build -m dkms_hello_test -v 1.0 -k 0.0.1-none
assert_eq "$before" "$(listing)" "build for a kernel without headers changed the trees"

# --- a conf that turns hostile after the build: at install time it names a
# destination outside the module tree. One real build.
cp -a "$TEST_MODULES/dkms_hello_test-1.0" "$P/turn"
sed -i -e 's/dkms_hello_test/dkms_turn_test/g' "$P/turn/dkms.conf" "$P/turn/Makefile"
mv "$P/turn/dkms_hello_test.c" "$P/turn/dkms_turn_test.c"
sed -i -e 's/dkms_hello_test/dkms_turn_test/g' "$P/turn/dkms_turn_test.c"
cat >>"$P/turn/dkms.conf" <<EOF
if [[ -e $T/turn-hostile ]]; then
    DEST_MODULE_LOCATION[0]="/updates/../../../../tmp"
fi
EOF
expect_exit 0 dkms_t add "$P/turn"
expect_exit 0 dkms_t build -m dkms_turn_test -v 1.0 -k "$K"
touch "$T/turn-hostile"
before=$(listing)
expect_exit 8 dkms_t install -m dkms_turn_test -v 1.0 -k "$K"
assert_contains "$OUT" "$(location_error DEST_MODULE_LOCATION)" "install with a hostile conf"
assert_eq "$before" "$(listing)" "install with a hostile conf changed the trees"
rm -f "$T/turn-hostile"

# --- a read-only install tree (bind mount in a private mount namespace)
if unshare --mount true 2>/dev/null; then
    before=$(listing)
    # shellcheck disable=SC2016 # expanded by the inner bash
    OUT=$(unshare --mount bash -c '
        mount --bind "$1/modules" "$1/modules" && mount -o remount,bind,ro "$1/modules" &&
            exec "$2" --dkmstree "$1/dkms" --sourcetree "$1/src" --installtree "$1/modules" \
                install -m dkms_turn_test -v 1.0 -k "$3"' ro "$T" "$DKMS" "$K" 2>&1) && RC=0 || RC=$?
    assert_eq 6 "$RC" "install into a read-only tree: exit status (output: $OUT)"
    assert_contains "$OUT" "$(lines "Error! Copying '$T/dkms/dkms_turn_test/1.0/$K/$A/module/dkms_turn_test.ko' failed")" \
        "install into a read-only tree"
    assert_eq "$before" "$(listing)" "install into a read-only tree changed the trees"
    expect_exit 0 dkms_t status -m dkms_turn_test
    assert_eq "dkms_turn_test/1.0, $K, $A: built" "$OUT" "status after the read-only install"
else
    echo "note: unshare --mount unavailable, read-only install tree not tested"
fi

finish
