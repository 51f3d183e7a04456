#!/bin/bash
# Tarballs interchange with upstream DKMS 3.2.2 both ways (SPEC §2.11,
# §2.12): upstream's script, unpacked from the cached Debian package, loads
# tarballs we made, and we load tarballs it made, into throw-away trees.
# The package is fetched into build/ref/ when missing; skipped (77) when it
# cannot be downloaded.
#   tarball_upstream_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_kernels 1
deb=${DKMS_REF_CACHE:-$REPO_ROOT/build/ref}/dkms_3.2.2-1~deb13u1_all.deb
# Fetch it into the cache when missing (apt sources are changed only inside
# the throw-away root of scripts/isolate).
if [[ ! -s $deb && $EUID == 0 && -z ${DKMS_REF_CACHE:-} ]]; then
    "$REPO_ROOT/scripts/isolate" bash -c 'source "$1/tests/upstream/ref.sh" && ref_fetch' \
        fetch "$REPO_ROOT" >/dev/null 2>&1 || true
fi
[[ -s $deb ]] || skip "upstream reference package not cached at $deb"
command -v dpkg >/dev/null || skip "dpkg is needed to unpack $deb"
K=$(newest_kernels 1)
A=$(uname -m)
M=dkms_hello_test
W=$(mktemp -d "${TMPDIR:-/tmp}/dkms-it.XXXXXX")
LIB_TREES+=("$W")
dpkg -x "$deb" "$W/ref"
UPSTREAM=$W/ref/usr/sbin/dkms
[[ -x $UPSTREAM ]] || skip "no usr/sbin/dkms in $deb"

# upstream_t ARGS...: upstream's dkms on the tree $T.
upstream_t() {
    "$UPSTREAM" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" "$@"
}

make_tree
make_signing_key
BUILT=$T
expect_exit 0 dkms_t add "$TEST_MODULES/$M-1.0"
expect_exit 0 dkms_t build $M/1.0 -k "$K"
KO=$BUILT/dkms/$M/1.0/$K/$A/module/$M.ko

# Ours -> upstream: source + binaries, and binaries only.
expect_exit 0 dkms_t mktarball $M/1.0 -k "$K" --archive "$W/ours.tar.gz"
expect_exit 0 dkms_t mktarball $M/1.0 -k "$K" --binaries-only --archive "$W/ours-bin.tar.gz"
make_tree
expect_exit 0 upstream_t ldtarball "$W/ours.tar.gz"
assert_contains "$OUT" "Loading tarball for $M/1.0"
expect_exit 0 upstream_t status
assert_eq "$M/1.0, $K, $A: built" "$OUT" "upstream sees our binaries as built"
cmp -s "$KO" "$T/dkms/$M/1.0/$K/$A/module/$M.ko" && _lib_pass || _lib_fail "module differs"
assert_file "$T/src/$M-1.0/$M.c"
make_tree
cp -a "$TEST_MODULES/$M-1.0" "$T/src/$M-1.0"
expect_exit 0 upstream_t ldtarball "$W/ours-bin.tar.gz"
expect_exit 0 upstream_t status
assert_eq "$M/1.0, $K, $A: built" "$OUT" "upstream loads our binaries-only tarball"

# Upstream -> ours, made by upstream from the tree we built.
T=$BUILT
expect_exit 0 upstream_t mktarball $M/1.0 -k "$K" --archive "$W/theirs.tar.gz"
expect_exit 0 upstream_t mktarball $M/1.0 -k "$K" --binaries-only --archive "$W/theirs-bin.tar.gz"
expect_exit 0 upstream_t mktarball $M/1.0 --source-only --archive "$W/theirs-src.tar.gz"
# Same member layout (names only; upstream lists in directory order).
assert_eq "$(tar tzf "$W/theirs.tar.gz" | sort)" "$(tar tzf "$W/ours.tar.gz" | sort)" \
    "member names match upstream's"
make_tree
expect_exit 0 dkms_t ldtarball "$W/theirs.tar.gz"
expect_exit 0 dkms_t status
assert_eq "$M/1.0, $K, $A: built" "$OUT" "we load upstream's tarball"
cmp -s "$KO" "$T/dkms/$M/1.0/$K/$A/module/$M.ko" && _lib_pass || _lib_fail "module differs"
expect_exit 0 dkms_t install $M/1.0 -k "$K"
assert_file "$T/modules/$K/updates/dkms/$M.ko"
make_tree
expect_exit 0 dkms_t ldtarball "$W/theirs-bin.tar.gz" --force
expect_exit 0 dkms_t status
assert_eq "$M/1.0, $K, $A: built" "$OUT" "we load upstream's binaries-only tarball"
make_tree
expect_exit 0 dkms_t add "$W/theirs-src.tar.gz"
expect_exit 0 dkms_t status
assert_eq "$M/1.0: added" "$OUT" "we load upstream's source-only tarball"

finish
