#!/bin/bash
# Transcript comparison of our dkms against Debian's upstream DKMS 3.2.2.
#
#   tests/compat/run.sh [--ours BIN | --reference-both] [--scenario NAME]...
#                       [--out DIR]
#
# Each scenario (scenarios/NAME.sh) runs twice, each time in a fresh
# throw-away root (scripts/isolate): once with upstream's dkms from the
# trixie .deb as /usr/sbin/dkms, once with ours (default build/dkms). The
# merged output, exit codes and the resulting trees are normalised and
# diffed. --reference-both runs upstream on both sides (determinism check).
# Exit: 0 if all scenarios match, 1 if any differ, 77 if not root or the
# reference package cannot be downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/upstream/ref.sh
source "$root/tests/upstream/ref.sh"

kernels_with_headers() {
    local d
    for d in /lib/modules/*/build; do [[ -d $d ]] && basename "${d%/build}"; done | sort -V
}

# ---- inner mode: one side of one scenario, inside the throw-away root ----
if [[ ${1:-} == --inner ]]; then
    side=$2 bin=$3 scenario=$4 out=$5
    if [[ $side == reference ]]; then
        ref_install_upstream >/dev/null || { echo "cannot install reference dkms" >"$out"; exit 1; }
    else
        ref_install_ours "$bin" >/dev/null 2>&1 || { echo "cannot install $bin" >"$out"; exit 1; }
    fi
    KERNELS=$(kernels_with_headers | tr '\n' ' ')
    KERNELS=${KERNELS% }
    export KERNELS MODULES=$root/tests/modules
    # A fixed scratch directory inside the throw-away /var, so paths a
    # scenario prints are the same on both sides.
    work=/var/tmp/dkms-compat
    mkdir -p "$work"
    {
        echo "=== transcript"
        # The scenario runs in a scratch directory; its own failures are part
        # of the transcript, not of the harness.
        (cd "$work" && bash -c 'source "$1"; source "$2"' scenario "$here/lib.sh" "$scenario") 2>&1 ||
            echo "[scenario exit $?]"
        echo "=== tree"
        # The dkms tree, our test sources, what dkms installs or replaces in
        # /lib/modules (not the kernels' own modules, nor headers), and the
        # top of each kernel's directory (depmod's output files).
        {
            find /var/lib/dkms $(compgen -G '/usr/src/dkms_*' || true) \
                $(compgen -G '/lib/modules/*/updates' || true) \
                $(compgen -G '/lib/modules/*/extra' || true) \
                $(compgen -G '/lib/modules/*/kernel/drivers/net/dummy.ko*' || true)
            find /lib/modules -mindepth 1 -maxdepth 2 -not -path '/lib/modules/*/kernel/*'
        } 2>/dev/null | sort -u |
            # Our hidden caches in the tree (issue 5: kept in a form upstream
            # ignores) are not state; everything else is compared.
            grep -Ev '/\.(conf-cache-|module-index-)[^/]*$' | while IFS= read -r p; do
            find "$p" -maxdepth 0 -printf '%p %y %m %l\n'
        done
    } >"$out" 2>&1
    exit 0
fi

# ---- driver ----
ours=$root/build/dkms reference_both=0 out_dir=$root/build/compat
scenarios=()
while (($#)); do
    case $1 in
    --ours) ours=$(realpath "$2"); shift ;;
    --reference-both) reference_both=1 ;;
    --scenario) scenarios+=("$2"); shift ;;
    --out) out_dir=$2; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compat: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
((EUID == 0)) || { echo "compat: needs root (skipped)" >&2; exit 77; }
if ((${#scenarios[@]} == 0)); then
    for f in "$here"/scenarios/*.sh; do scenarios+=("$(basename "$f" .sh)"); done
fi
if ! "$root/scripts/isolate" bash -c 'source "$1"; ref_fetch' fetch "$root/tests/upstream/ref.sh"; then
    echo "compat: cannot download dkms ${REF_VERSION} (skipped)" >&2
    exit 77
fi
if ((!reference_both)) && [[ ! -x $ours ]]; then
    echo "compat: no dkms binary at $ours" >&2
    exit 1
fi
[[ -n $(kernels_with_headers) ]] || { echo "compat: no kernel headers installed" >&2; exit 1; }

mkdir -p "$out_dir"
right=ours right_label=ours
((reference_both)) && right=reference right_label=reference2
passed=0 failed=0 failed_names=()
start=$SECONDS
for name in "${scenarios[@]}"; do
    script=$here/scenarios/$name.sh
    [[ -f $script ]] || { echo "compat: no scenario $name" >&2; exit 2; }
    t0=$SECONDS
    # Left side is always upstream; the right one is ours, or upstream again.
    for pair in "reference:reference" "$right:$right_label"; do
        side=${pair%%:*} label=${pair#*:}
        raw=$out_dir/$name.$label.raw
        "$root/scripts/isolate" "$0" --inner "$side" "$ours" "$script" "$raw" || true
        sed -E -f "$here/normalise.sed" "$raw" >"$out_dir/$name.$label.txt"
    done
    left_txt=$out_dir/$name.reference.txt right_txt=$out_dir/$name.$right_label.txt
    if diff -u --label "upstream/$name" --label "$right/$name" "$left_txt" "$right_txt" >"$out_dir/$name.diff"; then
        echo "PASS $name ($((SECONDS - t0))s)"
        passed=$((passed + 1))
    else
        echo "FAIL $name ($((SECONDS - t0))s)"
        cat "$out_dir/$name.diff"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
done
echo "compat: $((SECONDS - start))s; transcripts in $out_dir"
((failed == 0)) || echo "compat: failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
((failed == 0))
