#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Concurrency stress (issue 6): 8 processes run dkms at once for a bounded
# time (CONCURRENCY_SECONDS, default 60): four on shared modules
# (dkms_hello_test, and dkms_replace_test which displaces the kernel's
# dummy.ko) doing install/uninstall/status, four on a module of their own
# doing install/uninstall/status/remove/add. Every dkms run must succeed
# and `status` never report a broken pair; afterwards every worker ends
# with an install of its module, the tree passes tests/tools/check_tree.sh
# and every module is installed.
#
# Only the two shared modules are really built; each worker's own module
# (dkms_cc<N>_test, the hello source with another DEST_MODULE_NAME) is made
# "built" by placing a copy of the hello build, so re-adding it is cheap.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHECK="$REPO_ROOT/tests/tools/check_tree.sh"
DURATION=${CONCURRENCY_SECONDS:-60}

((EUID == 0)) || skip "needs root"
require_kernels 1
K=$(newest_kernels 1)
A=$(uname -m)

make_tree
make_signing_key
fake_dummy_kernel "$K"
DUMMY="$T/modules/$K/kernel/drivers/net/dummy.ko"
DUMMY_SUM=$(sha256sum <"$DUMMY")
DUMMY_SUM=${DUMMY_SUM%% *}
H=dkms_hello_test
R=dkms_replace_test

for m in "$H" "$R"; do
    expect_exit 0 dkms_t add "$TEST_MODULES/$m-1.0" || finish
    expect_exit 0 dkms_t build -m "$m" -v 1.0 -k "$K" || finish
done

# own_pkg N: the source of worker N's module.
own_pkg() {
    local dir="$T/pkg/dkms_cc$1_test-1.0"
    if [[ ! -d $dir ]]; then
        mkdir -p "$dir"
        cp "$TEST_MODULES/$H-1.0/"* "$dir/"
        sed -i -e "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"dkms_cc$1_test\"/" \
            -e "/^BUILT_MODULE_NAME/a DEST_MODULE_NAME[0]=\"dkms_cc$1_test\"" "$dir/dkms.conf"
    fi
    printf '%s' "$dir"
}

# fake_built N: make worker N's added module built for K from the hello
# build, placed with one rename so other runs never see half of it.
fake_built() {
    local m="dkms_cc$1_test" stage
    stage=$(mktemp -d "$T/dkms/$m/1.0/.stage.XXXXXX")
    cp -a "$T/dkms/$H/1.0/$K/$A" "$stage/$A"
    mv "$stage/$A/module/$H.ko" "$stage/$A/module/$m.ko"
    mkdir -p "$T/dkms/$m/1.0/$K"
    mv "$stage/$A" "$T/dkms/$m/1.0/$K/$A"
    rmdir "$stage"
}

for n in 1 2 3 4; do
    expect_exit 0 dkms_t add "$(own_pkg "$n")" || finish
    fake_built "$n"
done

# run_ok LOG ARGS...: run dkms; on a failure (or a broken pair in status
# output) record the command and its output in LOG.
run_ok() {
    local log=$1 out rc=0
    shift
    out=$(dkms_t "$@" 2>&1) || rc=$?
    if ((rc != 0)) || [[ $out == *broken* ]]; then
        printf 'dkms %s: exit %s\n%s\n----\n' "$*" "$rc" "$out" >>"$log"
    fi
    return 0
}

shared_worker() { # N
    local log="$T/worker$1.log" end=$((SECONDS + DURATION)) m i=0
    : >"$log"
    while ((SECONDS < end)); do
        i=$((i + 1))
        m=$H
        (((i + $1) % 2)) && m=$R
        case $((RANDOM % 3)) in
        0) run_ok "$log" install -m "$m" -v 1.0 -k "$K" ;;
        1) run_ok "$log" uninstall -m "$m" -v 1.0 -k "$K" ;;
        2) run_ok "$log" status ;;
        esac
    done
    run_ok "$log" install -m "$H" -v 1.0 -k "$K"
    run_ok "$log" install -m "$R" -v 1.0 -k "$K"
}

own_worker() { # N
    local log="$T/worker$1.log" end=$((SECONDS + DURATION)) m="dkms_cc$1_test"
    : >"$log"
    while ((SECONDS < end)); do
        case $((RANDOM % 5)) in
        0 | 1) run_ok "$log" install -m "$m" -v 1.0 -k "$K" ;;
        2) run_ok "$log" uninstall -m "$m" -v 1.0 -k "$K" ;;
        3) run_ok "$log" status -m "$m" ;;
        4)
            run_ok "$log" remove -m "$m" -v 1.0 --all
            run_ok "$log" add "$(own_pkg "$1")"
            fake_built "$1"
            ;;
        esac
    done
    run_ok "$log" install -m "$m" -v 1.0 -k "$K"
}

pids=()
for n in 1 2 3 4; do
    own_worker "$n" &
    pids+=($!)
    shared_worker $((n + 4)) &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p"
done

for n in 1 2 3 4 5 6 7 8; do
    assert_eq "" "$(cat "$T/worker$n.log")" "worker $n: dkms runs failed"
done

if out=$("$CHECK" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
    --precious "$DUMMY=$DUMMY_SUM" 2>&1); then
    _lib_pass
else
    _lib_fail "tree inconsistent after the stress run" "$out"
fi

expect_exit 0 dkms_t status
for m in "$H" "$R" dkms_cc1_test dkms_cc2_test dkms_cc3_test dkms_cc4_test; do
    assert_contains "$OUT" "$m/1.0, $K, $A: installed" "status of $m after the stress run"
    assert_file "$T/modules/$K/updates/dkms/${m/#dkms_replace_test/dummy}.ko"
done
assert_not_contains "$OUT" "Differences" "status after the stress run"
assert_no_file "$DUMMY" "dummy.ko is archived while dkms_replace_test is installed"

finish
