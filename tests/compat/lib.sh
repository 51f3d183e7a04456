#!/bin/bash
# Helpers available to every compat scenario (sourced before the scenario,
# inside the throw-away root, with the dkms under test as /usr/sbin/dkms).
#
# Scenarios get: KERNELS (kernels with headers, newest last), K_OLD/K_NEW
# (first and last of them), MODULES (tests/modules) and these functions.

read -r -a KERNEL_LIST <<<"$KERNELS"
K_OLD=${KERNEL_LIST[0]}
K_NEW=${KERNEL_LIST[${#KERNEL_LIST[@]} - 1]}
ARCH=$(uname -m)
export K_OLD K_NEW ARCH

# run ARGS...: one dkms command, announced and followed by its exit code.
run() {
    local rc=0
    echo "\$ dkms $*"
    stdbuf -oL -eL dkms "$@" 2>&1 || rc=$?
    echo "[exit $rc]"
}

# run_in DIR ARGS...: like run, but from another working directory.
run_in() {
    local dir=$1
    shift
    (cd "$dir" && run "$@")
}

# show_makelog FILE: make.log with its variable parts normalised: the date
# line, the output of make itself (compiler chatter, differs by machine
# load and toolchain) and elapsed times. Other runner blocks (patches,
# scripts) are kept as they are.
show_makelog() {
    echo "--- make.log: $1"
    [[ -f $1 ]] || { echo "(missing)"; return 0; }
    awk '
        NR == 2 { print "<date>"; next }
        /^# command: / { print; in_make = ($0 ~ /(^# command: |[ \/])make( |$)/); if (in_make) print "<make output>"; next }
        /^# exit code: / { in_make = 0 }
        in_make { next }
        { print }
    ' "$1"
}

# show_modinfo FILE FIELD...: selected modinfo fields of a (possibly
# compressed) module file.
show_modinfo() {
    local f=$1 field
    shift
    for field in "$@"; do
        echo "modinfo $field $(basename "$f"): $(modinfo -F "$field" "$f" 2>&1)"
    done
}

# note TEXT: a comment line in the transcript, to make diffs readable.
note() { echo "# $*"; }
