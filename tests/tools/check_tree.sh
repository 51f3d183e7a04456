#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check_tree.sh: consistency checker for a dkms tree and its install tree,
# used by the crash-safety and concurrency tests after every injected fault.
#
#   check_tree.sh --dkmstree DT --sourcetree ST --installtree IT
#                 [--precious PATH=SHA256]... [--allow-pending]
#
# It checks, for every module m in DT and every kernel K in IT:
#   - every DT/m/kernel-K-A is a symlink to v/K/A whose DT/m/v/K/A/module
#     directory exists (the pair is built);
#   - every module file of an installed pair (DT/m/v/K/A/module/*.ko*) is
#     present somewhere below IT/K with the same name and the same bytes;
#   - no module file (*.ko*) below IT/K, outside IT/K/kernel and the build
#     link, that no installed pair owns (an orphan);
#   - no half-written file: *.dkms-tmp.* anywhere in DT, ST or IT, and no
#     *.dkms-new link left next to a kernel-K-A link;
#   - every archived original in DT/m/original_module/K/A has an .origin
#     record naming a place below IT/K;
#   - nothing lost: each --precious PATH (with its sha256) is either at PATH
#     or archived in some DT/m/original_module/K/A with an .origin naming
#     PATH, with the same bytes.
# --allow-pending accepts the two half-done states an interrupted install or
# uninstall is designed to leave for the next command to finish: a module
# file below IT/K equal to a built but not installed pair's file (install
# stopped before linking), and an installed pair whose files are already
# deleted (uninstall stopped before unlinking), a *.dkms-new link, and an
# .origin record whose module was not moved yet, and the temporary file of a
# write that was cut short (*.dkms-tmp.*: never at a final name, so nothing
# reads it; the next mutating run sweeps it away).
# Prints one "check_tree: ..." line per problem; exit 0 = consistent,
# 1 = problems, 2 = usage.

set -u
shopt -s nullglob

DT="" ST="" IT="" ALLOW_PENDING=""
PRECIOUS=()
while (($#)); do
    case $1 in
    --dkmstree) DT=${2:-} && shift ;;
    --sourcetree) ST=${2:-} && shift ;;
    --installtree) IT=${2:-} && shift ;;
    --precious) PRECIOUS+=("${2:-}") && shift ;;
    --allow-pending) ALLOW_PENDING=yes ;;
    *)
        echo "check_tree: unknown argument: $1" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ -z $DT || -z $ST || -z $IT ]]; then
    echo "usage: check_tree.sh --dkmstree DT --sourcetree ST --installtree IT [--precious PATH=SHA256]... [--allow-pending]" >&2
    exit 2
fi

PROBLEMS=0
problem() {
    PROBLEMS=$((PROBLEMS + 1))
    echo "check_tree: $*"
}

# Module files of installed pairs, and of built pairs that are not
# installed, as "K<TAB>name<TAB>path-in-DT" lines.
INSTALLED=()
BUILT_ONLY=()

# 1. kernel-K-A links.
for link in "$DT"/*/kernel-*; do
    mdir=${link%/*}
    m=${mdir##*/}
    name=${link##*/}
    if [[ $name == *.dkms-new ]]; then
        [[ $ALLOW_PENDING ]] || problem "half-made link left: $link"
        continue
    fi
    if [[ ! -L $link ]]; then
        problem "not a symlink: $link"
        continue
    fi
    target=$(readlink "$link")
    if [[ ! $target =~ ^([^/]+)/([^/]+)/([^/]+)$ ]]; then
        problem "$link points at '$target', not at v/K/A"
        continue
    fi
    v=${BASH_REMATCH[1]} k=${BASH_REMATCH[2]} a=${BASH_REMATCH[3]}
    if [[ $name != "kernel-$k-$a" ]]; then
        problem "$link points at another kernel: $target"
    fi
    base="$DT/$m/$v/$k/$a"
    if [[ ! -d $base/module ]]; then
        problem "$link points at $m/$v for $k/$a, which is not built"
        continue
    fi
    for f in "$base"/module/*.ko*; do
        INSTALLED+=("$k"$'\t'"${f##*/}"$'\t'"$f")
    done
done

# Built pairs that kernel-K-A does not point at.
for mod in "$DT"/*/*/*/*/module; do
    [[ -d $mod ]] || continue
    base=${mod%/module}
    a=${base##*/}
    rest=${base%/*}
    k=${rest##*/}
    rest=${rest%/*}
    v=${rest##*/}
    mdir=${rest%/*}
    link="$mdir/kernel-$k-$a"
    [[ -L $link && $(readlink "$link") == "$v/$k/$a" ]] && continue
    for f in "$mod"/*.ko*; do
        BUILT_ONLY+=("$k"$'\t'"${f##*/}"$'\t'"$f")
    done
done 2>/dev/null

# find_same K NAME FILE: a file below IT/K (not IT/K/build) named NAME with
# FILE's bytes; prints its path.
find_same() {
    local cand
    while IFS= read -r -d '' cand; do
        if cmp -s "$cand" "$3"; then
            printf '%s\n' "$cand"
            return 0
        fi
    done < <(find "$IT/$1" -path "$IT/$1/build" -prune -o -name "$2" -type f -print0 2>/dev/null)
    return 1
}

# 2. Installed files exist and equal BASE's.
for entry in "${INSTALLED[@]}"; do
    IFS=$'\t' read -r k name path <<<"$entry"
    if ! find_same "$k" "$name" "$path" >/dev/null; then
        [[ $ALLOW_PENDING ]] ||
            problem "installed module missing or different: $name of $path not found below $IT/$k"
    fi
done

# is_precious PATH
is_precious() {
    local p
    for p in "${PRECIOUS[@]}"; do
        [[ ${p%=*} == "$1" ]] && return 0
    done
    return 1
}

# owned_by LIST-NAME K FILE: FILE equals one of the listed module files
# with the same name for kernel K.
owned_by() {
    local -n list=$1
    local entry k name path
    for entry in "${list[@]}"; do
        IFS=$'\t' read -r k name path <<<"$entry"
        [[ $k == "$2" && $name == "${3##*/}" ]] || continue
        cmp -s "$path" "$3" && return 0
    done
    return 1
}

# 3. Orphans below IT/K, outside kernel/ and build.
for kdir in "$IT"/*/; do
    kdir=${kdir%/}
    k=${kdir##*/}
    while IFS= read -r -d '' f; do
        is_precious "$f" && continue
        owned_by INSTALLED "$k" "$f" && continue
        if [[ $ALLOW_PENDING ]] && owned_by BUILT_ONLY "$k" "$f"; then
            continue
        fi
        problem "orphan module file (no installed pair owns it): $f"
    done < <(find "$kdir" \( -path "$kdir/build" -o -path "$kdir/kernel" \) -prune \
        -o -name '*.ko*' ! -name '*.dkms-tmp.*' -type f -print0 2>/dev/null)
done

# 4. Half-written files anywhere.
while IFS= read -r -d '' f; do
    [[ $ALLOW_PENDING == yes ]] && continue
    problem "half-written file left: $f"
done < <(find "$DT" "$ST" "$IT" \( -path "$IT/*/build" -prune \) -o -name '*.dkms-tmp.*' -print0 2>/dev/null)

# 5. Archived originals have an .origin naming a place in IT/K.
for f in "$DT"/*/original_module/*/*/*; do
    [[ $f == *.origin ]] && continue
    # A temporary file of a cut-short write is rule 4's business.
    [[ $f == *.dkms-tmp.* ]] && continue
    rest=${f%/*}
    rest=${rest%/*}
    k=${rest##*/}
    if [[ ! -f $f.origin ]]; then
        problem "archived original without .origin: $f"
        continue
    fi
    origin=$(head -n1 "$f.origin")
    if [[ $origin != "$IT/$k/"* ]]; then
        problem "archived original $f records '$origin', not a place below $IT/$k"
    fi
done
# An install stopped between recording the origin and moving the module
# leaves the record alone (the module is still in place): pending only.
for f in "$DT"/*/original_module/*/*/*.origin; do
    [[ -e ${f%.origin} || $ALLOW_PENDING ]] || problem ".origin without its archived module: $f"
done

# 6. Nothing lost.
for p in "${PRECIOUS[@]}"; do
    path=${p%=*}
    sum=${p##*=}
    found=""
    if [[ -f $path ]]; then
        [[ $(sha256sum <"$path") == "$sum  -" ]] && found=$path
    fi
    if [[ -z $found ]]; then
        for o in "$DT"/*/original_module/*/*/"${path##*/}".origin; do
            [[ $(head -n1 "$o") == "$path" ]] || continue
            [[ $(sha256sum <"${o%.origin}") == "$sum  -" ]] && found=${o%.origin}
        done 2>/dev/null
    fi
    [[ $found ]] || problem "precious file lost: $path (not in place, not archived with the same bytes)"
done

exit $((PROBLEMS > 0))
