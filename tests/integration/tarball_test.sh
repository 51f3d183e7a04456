#!/bin/bash
# mktarball / ldtarball / add <tarball> (SPEC §2.11, §2.12) on a real module
# built against the installed headers: every tarball kind round-trips, a
# multi-kernel tarball loads every kernel, binaries-only needs source or
# --force, existing source is never overwritten without --force; and a
# corpus of hostile archives generated here is refused, naming the entry,
# with nothing written anywhere.
#   tarball_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_kernels 1
command -v python3 >/dev/null || skip "python3 is needed to craft archives"
mapfile -t KS < <(newest_kernels 2)
K1=${KS[0]}
K2=${KS[1]:-}
A=$(uname -m)
M=dkms_hello_test
W=$(mktemp -d "${TMPDIR:-/tmp}/dkms-it.XXXXXX")
LIB_TREES+=("$W")
# dkms extracts under TMPDIR: a private one shows that nothing is left there.
# (.dkms.lock, the tree lock, is left out of the tree listings.)
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"

# ---------------------------------------------------------------------------
# Build once, in the tree that makes the tarballs.
make_tree
make_signing_key
BUILD_T=$T
expect_exit 0 dkms_t add "$TEST_MODULES/$M-1.0"
expect_exit 0 dkms_t build $M/1.0 -k "$K1"
kargs=(-k "$K1")
klist="kernel$K1-$A"
if [[ $K2 ]]; then
    expect_exit 0 dkms_t build $M/1.0 -k "$K2"
    kargs+=(-k "$K2")
    klist+="-kernel$K2-$A"
fi
KO1=$T/dkms/$M/1.0/$K1/$A/module/$M.ko

# Default name and place, gzip, upstream's member layout.
expect_exit 0 dkms_t mktarball $M/1.0 "${kargs[@]}"
FULL=$T/dkms/$M/1.0/tarball/$M-1.0-$klist.dkms.tar.gz
assert_contains "$OUT" "Tarball location: $T/dkms/$M/1.0/tarball//$M-1.0-$klist.dkms.tar.gz"
assert_contains "$OUT" "Marking modules for $K1 ($A) for archiving..."
assert_contains "$OUT" "Marking $T/dkms/$M/1.0/source for archiving..."
assert_eq "1f8b" "$(head -c2 "$FULL" | od -An -tx1 | tr -d ' \n')" "gzip magic"
members=$(tar tzf "$FULL" | sort)
assert_contains "$members" "./dkms_main_tree/$K1/$A/module/$M.ko"
assert_contains "$members" "./dkms_source_tree/dkms.conf"
assert_contains "$members" "./dkms_source_tree/$M.c"

expect_exit 0 dkms_t mktarball $M/1.0 -k "$K1" --binaries-only --archive "$W/bin.tar.xz"
assert_contains "$OUT" "Creating tarball structure to specifically accomodate binaries."
assert_contains "$OUT" "Tarball location: $W/bin.tar.xz"
assert_eq "fd377a585a" "$(head -c5 "$W/bin.tar.xz" | od -An -tx1 | tr -d ' \n')" "xz magic"
assert_eq "$M" "$(tar xJOf "$W/bin.tar.xz" ./dkms_binaries_only/PACKAGE_NAME)"
assert_eq "1.0" "$(tar xJOf "$W/bin.tar.xz" ./dkms_binaries_only/PACKAGE_VERSION)"
assert_not_contains "$(tar tJf "$W/bin.tar.xz")" "dkms_source_tree"

expect_exit 0 dkms_t mktarball $M/1.0 --source-only --archive "$W/src.tar.zst"
assert_eq "28b52ffd" "$(head -c4 "$W/src.tar.zst" | od -An -tx1 | tr -d ' \n')" "zstd magic"
assert_not_contains "$(tar --zstd -tf "$W/src.tar.zst")" "dkms_main_tree/$K1"

expect_exit 0 dkms_t mktarball $M/1.0 -k "$K1" --archive "$W/plain.tar"
assert_contains "$(tar tf "$W/plain.tar")" "./dkms_main_tree/$K1/$A/module/$M.ko"

expect_exit 6 dkms_t mktarball $M/1.0 -k 0.0.0-none
assert_contains "$OUT" "Error! No modules built for 0.0.0-none ($A)."
assert_contains "$OUT" "Modules must already be in the built state before using mktarball."

# ---------------------------------------------------------------------------
# Round trips.

# Source + binaries, every kernel: built (not installed), identical module.
make_tree
expect_exit 0 dkms_t ldtarball "$FULL"
assert_contains "$OUT" "Loading tarball for $M/1.0"
assert_contains "$OUT" "Loading $T/dkms/$M/1.0/$K1/$A..."
expected="$M/1.0, $K1, $A: built"
[[ $K2 ]] && expected=$(printf '%s\n' "$M/1.0, $K2, $A: built" "$expected" | sort -V)
expect_exit 0 dkms_t status
assert_eq "$(sort -V <<<"$expected")" "$(sort -V <<<"$OUT")" "every kernel of the tarball is loaded"
cmp -s "$KO1" "$T/dkms/$M/1.0/$K1/$A/module/$M.ko" && _lib_pass || _lib_fail "module differs"
assert_no_file "$T/modules/$K1/updates/dkms/$M.ko" "loading does not install"
expect_exit 0 dkms_t install $M/1.0 -k "$K1"
assert_file "$T/modules/$K1/updates/dkms/$M.ko"
# Again: already added.
expect_exit 8 dkms_t ldtarball "$FULL"
assert_contains "$OUT" "Error! $M/1.0 is already added!"
assert_contains "$OUT" "Aborting."

# `dkms add <tarball>` is the same flow; an xz tarball of source only.
make_tree
expect_exit 0 dkms_t add "$W/src.tar.zst"
expect_exit 0 dkms_t status
assert_eq "$M/1.0: added" "$OUT"

# Binaries only, no source: refused without --force, nothing written.
make_tree
before=$(cd "$T" && find . | grep -v '/\.dkms\.lock$' | sort)
expect_exit 1 dkms_t ldtarball "$W/bin.tar.xz"
assert_contains "$OUT" "there is no module source in $T/src/$M-1.0"
assert_eq "$before" "$(cd "$T" && find . | grep -v '/\.dkms\.lock$' | sort)" "tree unchanged"
# With --force: ST/m-v holds only dkms.conf; the binaries are built, and
# install works without any source or compiler.
expect_exit 0 dkms_t ldtarball "$W/bin.tar.xz" --force
assert_contains "$OUT" "Creating $T/src/$M-1.0"
assert_eq "dkms.conf" "$(ls "$T/src/$M-1.0")"
expect_exit 0 dkms_t status
assert_eq "$M/1.0, $K1, $A: built" "$OUT"
expect_exit 0 dkms_t install $M/1.0 -k "$K1"
assert_file "$T/modules/$K1/updates/dkms/$M.ko"

# Binaries only with manually placed source: loads, source untouched.
make_tree
cp -a "$TEST_MODULES/$M-1.0" "$T/src/$M-1.0"
echo "/* local */" >>"$T/src/$M-1.0/$M.c"
expect_exit 0 dkms_t ldtarball "$W/bin.tar.xz"
assert_contains "$(cat "$T/src/$M-1.0/$M.c")" "/* local */"
expect_exit 0 dkms_t status
assert_eq "$M/1.0, $K1, $A: built" "$OUT"

# Existing, unregistered source is never overwritten without --force.
make_tree
mkdir -p "$T/src/$M-1.0"
echo keep >"$T/src/$M-1.0/marker"
before=$(cd "$T" && find . | grep -v '/\.dkms\.lock$' | sort)
expect_exit 8 dkms_t ldtarball "$FULL"
assert_contains "$OUT" "Error! Module source $T/src/$M-1.0 already exists."
assert_eq "$before" "$(cd "$T" && find . | grep -v '/\.dkms\.lock$' | sort)" "tree unchanged"
expect_exit 0 dkms_t ldtarball "$FULL" --force
assert_contains "$OUT" "Forcing install of $M/1.0"
assert_no_file "$T/src/$M-1.0/marker" "--force replaces the source"
assert_file "$T/src/$M-1.0/$M.c"

# A plain source tarball with dkms.conf somewhere inside.
make_tree
mkdir -p "$W/plain/pkg/sub"
cp -a "$TEST_MODULES/$M-1.0/." "$W/plain/pkg/sub/"
tar -C "$W/plain" -czf "$W/plain-src.tar.gz" pkg
expect_exit 0 dkms_t add "$W/plain-src.tar.gz"
assert_contains "$OUT" "Creating symlink $T/dkms/$M/1.0/source -> $T/src/$M-1.0"
assert_file "$T/src/$M-1.0/$M.c"
# No dkms.conf at all.
tar -C "$W/plain" -czf "$W/noconf.tar.gz" --exclude dkms.conf pkg
expect_exit 3 dkms_t ldtarball "$W/noconf.tar.gz"
assert_contains "$OUT" "Error! Tarball does not appear to be a correctly formed DKMS archive. No dkms.conf found within it."
expect_exit 2 dkms_t ldtarball --archive="$W/missing.tar.gz"
assert_contains "$OUT" "Error! $W/missing.tar.gz does not exist."

# ---------------------------------------------------------------------------
# Hostile corpus: each archive is a well-formed DKMS tarball plus one bad
# thing. dkms must refuse it (exit 7) naming the entry, and leave the trees,
# TMPDIR and the places the entries aim at untouched.
H=$W/hostile
mkdir -p "$H"
python3 - "$H" "$TEST_MODULES/$M-1.0/dkms.conf" "$K1" "$A" "$W" <<'PY'
import gzip, io, os, sys, tarfile
out, conf_path, k, a, w = sys.argv[1:]
conf = open(conf_path, 'rb').read()

def info(name, type=tarfile.REGTYPE, size=0, mode=0o644, link=''):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.mode, t.linkname = type, size, mode, link
    return t

def base(tf, conf_bytes=conf):
    tf.addfile(info('./dkms_main_tree/', tarfile.DIRTYPE, mode=0o755))
    tf.addfile(info('./dkms_source_tree/', tarfile.DIRTYPE, mode=0o755))
    tf.addfile(info('./dkms_source_tree/dkms.conf', size=len(conf_bytes)), io.BytesIO(conf_bytes))

def make(name, extra, conf_bytes=conf):
    with tarfile.open(os.path.join(out, name + '.tar.gz'), 'w:gz', format=tarfile.GNU_FORMAT) as tf:
        base(tf, conf_bytes)
        for t, data in extra:
            tf.addfile(t, io.BytesIO(data) if data else None)

x = b'evil\n'
make('dotdot', [(info('./dkms_source_tree/../../dotdot-escape', size=len(x)), x)])
make('absolute', [(info(w + '/absolute-escape', size=len(x)), x)])
make('symlink-abs', [(info('./dkms_source_tree/etc', tarfile.SYMTYPE, link='/etc'), None)])
make('symlink-up', [(info('./dkms_source_tree/up', tarfile.SYMTYPE, link='../../..'), None)])
make('through-link', [(info('./dkms_source_tree/here', tarfile.SYMTYPE, link='.'), None),
                      (info('./dkms_source_tree/here/x', size=len(x)), x)])
make('hardlink-out', [(info('./dkms_source_tree/passwd', tarfile.LNKTYPE, link='/etc/passwd'), None)])
make('device', [(info('./dkms_source_tree/null', tarfile.CHRTYPE, mode=0o666), None)])
make('fifo', [(info('./dkms_source_tree/pipe', tarfile.FIFOTYPE), None)])
make('setuid', [(info('./dkms_source_tree/su', size=len(x), mode=0o4755), x)])
make('reserved-kernel', [(info('./dkms_main_tree/source/', tarfile.DIRTYPE, mode=0o755), None),
                         (info('./dkms_main_tree/source/' + a + '/', tarfile.DIRTYPE, mode=0o755), None)])
make('ka-link', [(info('./dkms_main_tree/%s/' % k, tarfile.DIRTYPE, mode=0o755), None),
                 (info('./dkms_main_tree/%s/%s/' % (k, a), tarfile.DIRTYPE, mode=0o755), None),
                 (info('./dkms_main_tree/%s/%s/src' % (k, a), tarfile.SYMTYPE, link='../../../dkms_source_tree'), None)])
make('bad-name', [], conf.replace(b'PACKAGE_NAME="dkms_hello_test"', b'PACKAGE_NAME="../../bad-name-escape"'))

# Decompression bomb: a member announcing 3 GiB (the data never needs to
# exist: the header alone must be refused).
bomb = info('./dkms_source_tree/bomb', size=3 << 30)
with gzip.open(os.path.join(out, 'bomb-bytes.tar.gz'), 'wb') as f:
    f.write(bomb.tobuf(tarfile.GNU_FORMAT))
    f.write(b'\0' * (1 << 20))
# Too many entries: 100001 empty files.
with gzip.open(os.path.join(out, 'bomb-entries.tar.gz'), 'wb', compresslevel=1) as f:
    for i in range(100001):
        f.write(info('./dkms_source_tree/f%06d' % i).tobuf(tarfile.GNU_FORMAT))
    f.write(b'\0' * 1024)
# Truncated and corrupt.
good = open(os.path.join(out, 'setuid.tar.gz'), 'rb').read()
with tarfile.open(os.path.join(out, 'big.tar.gz'), 'w:gz') as tf:
    base(tf)
    data = os.urandom(200000)
    tf.addfile(info('./dkms_source_tree/blob', size=len(data)), io.BytesIO(data))
big = open(os.path.join(out, 'big.tar.gz'), 'rb').read()
open(os.path.join(out, 'truncated.tar.gz'), 'wb').write(big[:len(big) // 2])
os.unlink(os.path.join(out, 'big.tar.gz'))
open(os.path.join(out, 'corrupt.tar.gz'), 'wb').write(good[:10] + b'\xff' * 64 + good[74:])
PY

# name -> expected text of the refusal
declare -A WANT=(
    [dotdot]='entry "./dkms_source_tree/../../dotdot-escape" has a '"'..'"' path component.'
    [absolute]="entry \"$W/absolute-escape\" is an absolute path."
    [symlink-abs]='entry "./dkms_source_tree/etc" is a symbolic link to the absolute path /etc.'
    [symlink-up]='entry "./dkms_source_tree/up" is a symbolic link leading outside the archive (../../..).'
    [through-link]='entry "./dkms_source_tree/here/x" would be written through the symbolic link dkms_source_tree/here.'
    [hardlink-out]='entry "./dkms_source_tree/passwd" is a hard link to /etc/passwd, outside the archive.'
    [device]='entry "./dkms_source_tree/null" is a device node.'
    [fifo]='entry "./dkms_source_tree/pipe" is a FIFO.'
    [setuid]='entry "./dkms_source_tree/su" has the setuid or setgid bit set.'
    [reserved-kernel]="entry \"dkms_main_tree/source/$A\" does not name a kernel and architecture."
    [ka-link]="entry \"dkms_main_tree/$K1/$A/src\" is a symbolic link leading outside dkms_main_tree/$K1/$A."
    [bad-name]='entry "dkms_source_tree/dkms.conf" names an unusable module/version "../../bad-name-escape/1.0".'
    [bomb-bytes]='entry "./dkms_source_tree/bomb" would make the extracted data exceed 2147483648 bytes (decompression bomb?).'
    [bomb-entries]='entry "./dkms_source_tree/f100000" is beyond the limit of 100000 entries (decompression bomb?).'
    [truncated]='entry "./dkms_source_tree/blob" could not be read: truncated gzip input.'
    [corrupt]="Error! Could not read $H/corrupt.tar.gz: "
)
make_tree
# An unrelated module already in the tree must stay exactly as it is.
mkdir -p "$T/src/other-1.0" && echo keep >"$T/src/other-1.0/file"
for name in "${!WANT[@]}"; do
    before=$(cd "$T" && find . -printf '%M %s %p\n' | grep -v '/\.dkms\.lock$' | sort)
    tmp_before=$(ls -A "$TMPDIR")
    for cmd in ldtarball add; do
        expect_exit 7 dkms_t $cmd "$H/$name.tar.gz" --force
        case $name in
        corrupt) assert_contains "$OUT" "${WANT[$name]}" "$name" ;;
        *) assert_contains "$OUT" "Error! Refusing to load $H/$name.tar.gz: ${WANT[$name]}" "$name" ;;
        esac
        assert_eq "$before" "$(cd "$T" && find . -printf '%M %s %p\n' | grep -v '/\.dkms\.lock$' | sort)" "$name: tree unchanged"
        assert_eq "$tmp_before" "$(ls -A "$TMPDIR")" "$name: nothing left in TMPDIR"
    done
done
for f in "$W/dotdot-escape" "$W/absolute-escape" "$W/tmp/dotdot-escape" "$W/bad-name-escape"; do
    assert_no_file "$f"
done

finish
