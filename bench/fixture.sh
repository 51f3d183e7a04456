#!/bin/bash
# Builds the benchmark fixture: the test module dkms_hello_test built ONCE
# per kernel with headers (by our dkms, into a seed tree), then registered
# under N names, each built and installed for 3 kernels (the two with
# headers plus a fake third that copies the newer one), as a user's tree
# would look. Also a "bench_noop" package whose MAKE only copies a
# prebuilt .ko, for timing dkms install beyond make's own work; it lives
# in trees of its own (dt-noop-N, src-noop-N) so that the N-module trees
# are exactly "everything installed".
#
#   bench/fixture.sh DKMS_BINARY WORKDIR N
#
# Everything lives under WORKDIR: src-N/ (source tree), dt-N/ (dkms tree),
# modules-N/ (install tree: hard-linked copies of one real module tree),
# dt-noop-N/ and src-noop-N/ (bench_noop's trees).
# Nothing outside WORKDIR is written.
set -euo pipefail
dkms=$(realpath "$1")
work=$(realpath -m "$2")
n=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
arch=$(uname -m)

# The kernels with headers, newest last; the fake kernel copies the newest.
mapfile -t real_kernels < <(for d in /lib/modules/*/; do
    k=$(basename "$d"); [[ -e $d/build/include ]] && echo "$k"; done | sort -V)
(( ${#real_kernels[@]} >= 2 )) || { echo "need two kernels with headers" >&2; exit 77; }
k1=${real_kernels[0]} k2=${real_kernels[1]}
k3=${k2%%-*}-${k2#*-}
k3=${k3/+deb12/+fake}
[[ $k3 != "$k2" ]] || k3=$k2-fake
kernels=("$k1" "$k2" "$k3")
# The module tree to copy into every kernel (the one that has modules).
full=$(for k in "${real_kernels[@]}"; do
    [[ -d /lib/modules/$k/kernel ]] && echo "$k"; done | tail -n1)

mkdir -p "$work"
seed=$work/seed

# --- the seed: one real build per kernel with headers -------------------
if [[ ! -e $seed/done ]]; then
    rm -rf "$seed"
    mkdir -p "$seed/src" "$seed/dt" "$seed/modules"
    cp -a "$repo/tests/modules/dkms_hello_test-1.0" "$seed/src/"
    for k in "$k1" "$k2"; do
        mkdir -p "$seed/modules/$k"
        ln -s "$(readlink -f "/lib/modules/$k/build")" "$seed/modules/$k/build"
    done
    t=(--dkmstree "$seed/dt" --sourcetree "$seed/src" --installtree "$seed/modules")
    "$dkms" add "${t[@]}" -m dkms_hello_test -v 1.0 >/dev/null
    for k in "$k1" "$k2"; do
        "$dkms" build "${t[@]}" -m dkms_hello_test -v 1.0 -k "$k" >/dev/null
    done
    touch "$seed/done"
fi
seed_ko() { # kernel -> the built module for it
    local k=$1; [[ $k == "$k3" ]] && k=$k2
    echo "$seed/dt/dkms_hello_test/1.0/$k/$arch/module/dkms_hello_test.ko"
}

# --- the install tree: hard-linked copies of a real module tree -----------
it=$work/modules-$n
dt=$work/dt-$n
src=$work/src-$n
ndt=$work/dt-noop-$n
nsrc=$work/src-noop-$n
rm -rf "$it" "$dt" "$src" "$ndt" "$nsrc"
mkdir -p "$it" "$dt" "$src" "$ndt" "$nsrc"
for k in "${kernels[@]}"; do
    mkdir -p "$it/$k"
    if [[ -n $full ]]; then
        # One private copy, then hard links (inside scripts/isolate /lib is
        # an overlay, which cannot be hard-linked from).
        if [[ ! -e $work/kernel-tree/done ]]; then
            rm -rf "$work/kernel-tree"
            mkdir -p "$work/kernel-tree"
            cp -a "/lib/modules/$full/kernel" "$work/kernel-tree/"
            touch "$work/kernel-tree/done"
        fi
        cp -al "$work/kernel-tree/kernel" "$it/$k/kernel"
    fi
    hk=$k; [[ $k == "$k3" ]] && hk=$k2
    ln -s "$(readlink -f "/lib/modules/$hk/build")" "$it/$k/build"
    # No modules.dep: both dkms then skip depmod, whose cost (like make's)
    # is not dkms's own, and which would touch the real /lib/modules.
done

# What the copied kernel trees use, as upstream's set_module_suffix finds it.
suffix=
for s in .gz .xz .zst; do
    [[ -n $(find "$it/$k1/" -name "*.ko$s" -print -quit) ]] && suffix=$s
done
compress() {
    case $suffix in
        .xz) xz --check=crc32 --lzma2=dict=1MiB -f "$1" ;;
        .gz) gzip -9f "$1" ;;
        .zst) zstd -q --rm -f "$1" ;;
    esac
}

# --- N registered modules, built and installed for the 3 kernels ---------
register() { # name
    local m=$1 v=1.0
    mkdir -p "$src/$m-$v"
    cp "$repo/tests/modules/dkms_hello_test-1.0/"{Makefile,dkms_hello_test.c} "$src/$m-$v/"
    sed -e "s/dkms_hello_test/$m/g" "$repo/tests/modules/dkms_hello_test-1.0/dkms.conf" \
        >"$src/$m-$v/dkms.conf"
    mkdir -p "$dt/$m/$v/build"
    ln -s "$src/$m-$v" "$dt/$m/$v/source"
    for k in "${kernels[@]}"; do
        mkdir -p "$dt/$m/$v/$k/$arch/module" "$dt/$m/$v/$k/$arch/log" "$it/$k/updates/dkms"
        # Compressed as dkms does when the kernel's modules are (.ko.xz here).
        cp "$(seed_ko "$k")" "$dt/$m/$v/$k/$arch/module/$m.ko"
        [[ -z $suffix ]] || compress "$dt/$m/$v/$k/$arch/module/$m.ko"
        echo "make done" >"$dt/$m/$v/$k/$arch/log/make.log"
        cp "$dt/$m/$v/$k/$arch/module/$m.ko$suffix" "$it/$k/updates/dkms/"
        ln -s "$v/$k/$arch" "$dt/$m/kernel-$k-$arch"
    done
}
for ((i = 1; i <= n; i++)); do
    register "$(printf 'bench_mod_%03d' "$i")"
done

# --- bench_noop: added only; its MAKE copies a prebuilt module -------------
m=bench_noop
mkdir -p "$nsrc/$m-1.0"
cp "$(seed_ko "$k2")" "$nsrc/$m-1.0/prebuilt.ko"
printf 'all:\n\tcp prebuilt.ko %s.ko\nclean:\n\trm -f %s.ko\n' "$m" "$m" \
    >"$nsrc/$m-1.0/Makefile"
cat >"$nsrc/$m-1.0/dkms.conf" <<CONF
PACKAGE_NAME="$m"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="$m"
DEST_MODULE_LOCATION[0]="/updates/dkms"
MAKE[0]="make"
CONF
mkdir -p "$ndt/$m/1.0/build"
ln -s "$nsrc/$m-1.0" "$ndt/$m/1.0/source"

# Old enough for the conf cache to trust (it ignores files changed in the
# last second).
find "$src" "$nsrc" -exec touch -h -d '-1 hour' {} +
sleep 1.1
printf '%s\n' "${kernels[@]}" >"$work/kernels-$n"
echo "fixture: $n modules x ${#kernels[@]} kernels (${kernels[*]}) in $work"
