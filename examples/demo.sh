#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# demo.sh <path-to-dkms> — what `make demo` runs.
#
# Adds, builds and installs the bundled hello_dkms package for the newest
# kernel whose headers are installed, entirely inside a throw-away tree
# (build/demo/ unless DEMO_DIR says otherwise), then shows the result. The
# real system is left untouched:
#   * --dkmstree / --sourcetree / --installtree point into the demo tree;
#   * the install tree has only <K>/build -> /lib/modules/<K>/build (so the
#     headers are found) and no modules.dep, so dkms skips depmod;
#   * the module signing key and certificate would default to
#     /var/lib/dkms/mok.{key,pub} whatever --dkmstree says, so they are
#     exported as mok_signing_key / mok_certificate (dkms takes these two
#     from the environment) and get generated inside the demo tree.
set -euo pipefail

die() {
    echo "demo: $*" >&2
    exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 <path-to-dkms-binary>"
[[ -f $1 && -x $1 ]] || die "no executable dkms at '$1' (run 'make all' first)"
dkms=$(readlink -f "$1")

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
package_dir="$repo/examples/hello-dkms"
demo=${DEMO_DIR:-$repo/build/demo}
demo=$(readlink -m "$demo")
# The tree is deleted with rm -rf on every run: refuse anything that does
# not look like a dedicated demo directory.
[[ $demo == */demo ]] || die "DEMO_DIR must end in /demo (got '$demo')"

# Newest kernel (GNU version order) that has a usable header tree.
newest_kernel_with_headers() {
    local inc
    for inc in /lib/modules/*/build/include; do
        [[ -d $inc ]] || continue
        inc=${inc%/build/include}
        echo "${inc##*/}"
    done | sort -V | tail -n 1
}

kernel=${DEMO_KERNEL:-$(newest_kernel_with_headers)}
[[ $kernel ]] || die "no kernel headers found (/lib/modules/*/build/include); install linux-headers-<version>"
[[ -d /lib/modules/$kernel/build/include ]] || die "no headers for kernel $kernel"

# A fresh tree each run.
rm -rf "$demo"
mkdir -p "$demo/dkms" "$demo/src" "$demo/modules/$kernel"
ln -s "/lib/modules/$kernel/build" "$demo/modules/$kernel/build"

export mok_signing_key="$demo/mok.key"
export mok_certificate="$demo/mok.pub"

echo "Demo tree: $demo"
echo "Kernel:    $kernel"
echo

# Print a command, then run it; stop the demo if it fails.
run() {
    printf '$'
    printf ' %q' "$@"
    printf '\n'
    "$@" || die "command failed with exit status $?"
    echo
}

dkms_demo() {
    run "$dkms" --dkmstree "$demo/dkms" --sourcetree "$demo/src" \
        --installtree "$demo/modules" "$@"
}

dkms_demo add "$package_dir"
dkms_demo build hello_dkms/1.0 -k "$kernel"
dkms_demo install hello_dkms/1.0 -k "$kernel"

# Show the installed file and whether dkms signed it. find does not descend
# into the build symlink, so only the demo's own install tree is searched.
installed=$(find "$demo/modules/$kernel" -name 'hello_dkms.ko*' -print -quit)
[[ $installed ]] || die "hello_dkms.ko was not installed under $demo/modules/$kernel"
echo "Installed: $installed"
signer=$(modinfo -F signer "$installed" 2>/dev/null || true)
if [[ $signer ]]; then
    echo "Signed by: $signer (key $mok_signing_key)"
else
    echo "Signed by: nobody (the kernel has no module signing or no sign-file was found)"
fi
echo

# Last: the status line, which must report the module as installed.
printf '$'
printf ' %q' "$dkms" --dkmstree "$demo/dkms" --sourcetree "$demo/src" \
    --installtree "$demo/modules" status
printf '\n'
status=$("$dkms" --dkmstree "$demo/dkms" --sourcetree "$demo/src" \
    --installtree "$demo/modules" status) || die "dkms status failed"
echo "$status"
[[ $status == *"hello_dkms/1.0, $kernel, "*": installed"* ]] ||
    die "expected hello_dkms/1.0 to be installed for $kernel"
