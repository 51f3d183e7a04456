#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# After an install, the BUILD_DEPENDS_REBUILD check (SPEC §2.14) reads
# every built/installed module's dkms.conf for K/A. With their
# DT/m/v/.conf-cache-K-A records valid, the modules without the setting
# are decided from the records: no bash evaluates their confs. A module
# with BUILD_DEPENDS and BUILD_DEPENDS_REBUILD is still rebuilt when its
# dependency changes version, with upstream's transcript.
#   deps_cache_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_extra.sh"

set_up_kernels 1
K=$KO
V=dkms_ver_test
D=dkms_deps_test

add_pkg "$V-1.0"
expect_exit 0 dkms_t install -k "$K" "$V/1.0"
# The dependent package, pointed at dkms_ver_test and asking for rebuilds.
copy_pkg "$D-1.0" "$T/src/$D-1.0"
sed -i -e 's/^BUILD_DEPENDS\[0\]=.*/BUILD_DEPENDS[0]="'"$V"'"/' \
    -e '$a BUILD_DEPENDS_REBUILD="yes"' "$T/src/$D-1.0/dkms.conf"
expect_exit 0 dkms_t add "$D/1.0"
expect_exit 0 dkms_t install -k "$K" "$D/1.0"
assert_eq "1.0" "$(cat "$T/dkms/$D/1.0/$K/$A/.dep_$V")" "dependency version recorded"

# Ten more installed modules, copies of the built one (a tree as it would
# be after their own installs); their confs are static.
ko=$(ls "$T/dkms/$V/1.0/$K/$A/module/$V.ko"*)
sfx=${ko##*.ko}
others=()
for i in 0 1 2 3 4 5 6 7 8 9; do
    m=m_other$i
    others+=("$m")
    mkdir -p "$T/src/$m-1.0" "$T/dkms/$m/1.0/$K/$A/module"
    sed -e "s/dkms_hello_test/$m/g" "$TEST_MODULES/dkms_hello_test-1.0/dkms.conf" \
        >"$T/src/$m-1.0/dkms.conf"
    ln -s "$T/src/$m-1.0" "$T/dkms/$m/1.0/source"
    cp "$ko" "$T/dkms/$m/1.0/$K/$A/module/$m.ko$sfx"
    cp "$ko" "$T/modules/$K/updates/dkms/$m.ko$sfx"
    ln -s "1.0/$K/$A" "$T/dkms/$m/kernel-$K-$A"
done
sleep 1.1 # records are not written for files changed within the last second
expect_exit 0 dkms_t status
for m in "${others[@]}" "$V" "$D"; do
    assert_file "$T/dkms/$m/1.0/.conf-cache-$K-$A"
done

# Installing 2.0 makes dkms_deps_test stale: it is rebuilt.
add_pkg "$V-2.0"
VI="$T/modules/$K/updates/dkms/$V.ko"
DI="$T/modules/$K/updates/dkms/$D.ko"
expected=$(lines "$(prologue "$K")" "" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$V/2.0/build/$V.ko" \
    "Installing $VI" \
    "Running depmod... done." \
    "" \
    "Rebuilding module $D/1.0 due to updated dependencies" \
    "" \
    "$(uninstall_active "$D/1.0" "$K" "$DI")" \
    "Building module(s)... done." \
    "Signing module $T/dkms/$D/1.0/build/$D.ko" \
    "Installing $DI" \
    "Running depmod... done.")
trace=$T/strace.out
# LeakSanitizer cannot run under ptrace: an ASan build must skip its leak
# check when traced (harmless for other builds).
strace_dkms=(/usr/bin/strace -qq -f -s 65536 -e trace=execve -o "$trace"
    -E "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
if [[ -x /usr/bin/strace ]]; then
    expect_out 0 "$expected" "${strace_dkms[@]}" \
        "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
        install -k "$K" "$V/2.0"
    # Every execve of bash that names one of the other modules' confs.
    evals=$(grep -c 'execve("/bin/bash".*m_other[0-9]' "$trace")
    assert_eq "0" "$evals" "bash runs for the other modules' confs"
    echo "bash runs in all: $(grep -c 'execve("/bin/bash"' "$trace")"
else
    echo "strace missing: not counting bash runs"
    expect_out 0 "$expected" dkms_t install -k "$K" "$V/2.0"
fi
assert_eq "2.0" "$(cat "$T/dkms/$D/1.0/$K/$A/.dep_$V")" "new dependency version recorded"
assert_eq "1.0/$K/$A" "$(readlink "$T/dkms/$D/kernel-$K-$A")" "dependent installed again"
assert_file "$DI"

# Without records (an upstream-written tree, or no status run yet), the
# check itself stores them: the next install needs no bash for those confs.
rm "$T"/dkms/m_other*/1.0/.conf-cache-*
expect_exit 0 dkms_t install --force -k "$K" "$V/2.0"
for m in "${others[@]}"; do
    assert_file "$T/dkms/$m/1.0/.conf-cache-$K-$A"
done
if [[ -x /usr/bin/strace ]]; then
    expect_exit 0 "${strace_dkms[@]}" \
        "$DKMS" --dkmstree "$T/dkms" --sourcetree "$T/src" --installtree "$T/modules" \
        install --force -k "$K" "$V/2.0"
    assert_eq "0" "$(grep -c 'execve("/bin/bash".*m_other[0-9]' "$trace")" \
        "bash runs for the other modules' confs after the check stored them"
fi

finish
