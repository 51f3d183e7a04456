#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Signals during a build (issue 6): SIGTERM or SIGINT while make runs must
# stop make and what it started, remove the staging directory, leave the
# pair as it was (added, an empty build directory) with the message
#   dkms: interrupted: M/V was not built for kernel K (A); its previous state is unchanged.
# and exit 128+signal. The package's MAKE runs a makefile whose only recipe
# records its pid and sleeps, so the build is always in make when the signal
# comes.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

((EUID == 0)) || skip "needs root"
require_kernels 1
K=$(newest_kernels 1)
A=$(uname -m)
M=dkms_slow_test

make_tree
make_signing_key

# The slow package, written here: a dkms.conf whose MAKE starts with "make"
# (so dkms adds -j and KERNELRELEASE as usual) and a makefile that sleeps.
PKG="$T/pkg/$M-1.0"
mkdir -p "$PKG"
cat >"$PKG/dkms.conf" <<EOF
PACKAGE_NAME="$M"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="$M"
DEST_MODULE_LOCATION[0]="/updates/dkms"
MAKE[0]="make -f slow.mk"
EOF
# The recipe's shell writes its pid and then becomes the sleep.
printf 'all:\n\techo $$$$ >%s/sleep.pid; exec sleep 60\n' "$T" >"$PKG/slow.mk"
expect_exit 0 dkms_t add "$PKG"

VDIR="$T/dkms/$M/1.0"
listing() {
    # dkms's own hidden bookkeeping (lock, caches) is not part of the state.
    (cd "$T" && find dkms src modules ! -name .dkms.lock ! -name '.module-index-*' \
        ! -name '.conf-cache-*' -printf '%y %p\n' | sort)
}
BEFORE=$(listing)

# interrupted_build SIG EXIT_CODE [group]: start a build, wait until make's
# sleep runs, send SIG to dkms (or, with "group", to its whole process group
# as a terminal's Ctrl-C does), and check the outcome.
interrupted_build() {
    local sig=$1 want=$2 group=${3:-} pid sleeper i rc=0 err="$T/stderr"
    rm -f "$T/sleep.pid"
    if [[ $group ]]; then
        setsid "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
            build -m "$M" -v 1.0 -k "$K" >"$T/stdout" 2>"$err" &
    else
        "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
            build -m "$M" -v 1.0 -k "$K" >"$T/stdout" 2>"$err" &
    fi
    pid=$!
    for ((i = 0; i < 600; i++)); do
        [[ -s $T/sleep.pid ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    sleeper=$(cat "$T/sleep.pid" 2>/dev/null)
    if [[ -z $sleeper ]]; then
        _lib_fail "SIG$sig: make never started" "$(cat "$T/stdout" "$err")"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid"
        return 1
    fi
    _lib_pass
    if [[ $group ]]; then
        kill -"$sig" -- -"$pid"
    else
        kill -"$sig" "$pid"
    fi
    # dkms must be done well before the sleep would end.
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        # Still running: not reaped yet, or hanging.
        [[ $(ps -o stat= -p "$pid") == Z* ]] && break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid") != Z* ]]; then
        _lib_fail "SIG$sig${group:+ to the group}: dkms still running 10 s after the signal"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" || rc=$?
    assert_eq "$want" "$rc" "exit status after SIG$sig${group:+ to the group}"
    assert_contains "$(cat "$err")" \
        "dkms: interrupted: $M/1.0 was not built for kernel $K ($A); its previous state is unchanged." \
        "message after SIG$sig${group:+ to the group}"
    for ((i = 0; i < 30; i++)); do
        kill -0 "$sleeper" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$sleeper" 2>/dev/null; then
        _lib_fail "SIG$sig${group:+ to the group}: make's child (pid $sleeper) still runs" \
            "$(ps -o pid,ppid,pgid,args -p "$sleeper")"
        kill -KILL "$sleeper" 2>/dev/null
    else
        _lib_pass
    fi
    assert_no_file "$VDIR/$K/$A" "SIG$sig: the pair was half-built"
    assert_eq "" "$(find "$VDIR" -name '.tmp_*')" "SIG$sig: staging left behind"
    assert_eq "$BEFORE" "$(listing)" "SIG$sig: the trees changed"
    expect_exit 0 dkms_t status
    assert_eq "$M/1.0: added" "$OUT" "status after SIG$sig"
}

# A package manager or `timeout` stopping dkms: the signal reaches dkms only.
# dkms passes it on to the process group of the `bash -c` running MAKE, so
# make and its jobs stop too.
interrupted_build TERM 143
# Ctrl-C on a terminal: the whole foreground process group gets SIGINT.
interrupted_build INT 130 group
# `kill -INT <dkms>`: only dkms gets it, and must stop make's children too.
# GNU make does not pass SIGINT on (it waits for its jobs): dkms signals the
# child's whole process group.
interrupted_build INT 130
# A closed terminal.
interrupted_build HUP 129 group

# SIGKILL cannot be caught: the run stops wherever it is, and the mark it
# set before its first write (DT/.dkms-in-progress) stays. Only a mutating
# run that finds the mark sweeps the tree for half-written temporaries (a
# stand-in is planted here); runs that end normally clear it.
MARK="$T/dkms/.dkms-in-progress"
assert_no_file "$MARK" "runs that ended normally left the in-progress mark"
rm -f "$T/sleep.pid"
"$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
    build -m "$M" -v 1.0 -k "$K" >/dev/null 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
    [[ -s $T/sleep.pid ]] && break
    sleep 0.1
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
kill -KILL "$(cat "$T/sleep.pid")" 2>/dev/null
assert_file "$MARK" "SIGKILL: no in-progress mark left for the next run"
touch "$VDIR/stray.dkms-tmp.x1"
expect_exit 0 dkms_t status
assert_file "$VDIR/stray.dkms-tmp.x1" "status (read-only) swept the tree"
expect_exit 0 dkms_t autoinstall -k "$K"
assert_no_file "$VDIR/stray.dkms-tmp.x1" "the run after a SIGKILL did not sweep"
assert_no_file "$MARK" "the in-progress mark outlived a normal run"
touch "$VDIR/stray.dkms-tmp.x2"
expect_exit 0 dkms_t autoinstall -k "$K"
assert_file "$VDIR/stray.dkms-tmp.x2" "swept without an in-progress mark"
rm -f "$VDIR/stray.dkms-tmp.x2"

finish
