#!/bin/bash
# Run upstream DKMS 3.2.2's own test suite (run_test.sh from Debian's orig
# tarball) against a dkms installed as /usr/sbin/dkms in a throw-away root.
#
#   tests/upstream/run.sh [--ours BIN | --reference] [--kernel K] [--log FILE]
#
# --ours BIN    test our binary (default: build/dkms)
# --reference   test Debian's upstream package itself (harness baseline)
# --kernel K    kernel to test against (default: $KERNEL_VER, else the
#               newest /lib/modules/*/build)
# Exit: 0 only if the whole suite passed; 77 if the reference package could
# not be fetched; 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/upstream/ref.sh
source "$here/ref.sh"

side=ours bin=$root/build/dkms kernel=${KERNEL_VER:-} log=
while (($#)); do
    case $1 in
    --ours) side=ours bin=$(realpath "$2"); shift ;;
    --reference) side=reference ;;
    --kernel) kernel=$2; shift ;;
    --log) log=$2; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ -z ${DKMS_UPSTREAM_ISOLATED:-} ]]; then
    ((EUID == 0)) || { echo "upstream-check: needs root (skipped)" >&2; exit 77; }
    log=${log:-$root/build/upstream-check/$side.log}
    mkdir -p "$(dirname "$log")"
    args=(--log "$log")
    [[ $side == ours ]] && args+=(--ours "$bin") || args+=(--reference)
    [[ -n $kernel ]] && args+=(--kernel "$kernel")
    exec env DKMS_UPSTREAM_ISOLATED=1 "$root/scripts/isolate" "$0" "${args[@]}"
fi

# ---- from here on we are inside the throw-away root ----
if [[ -z $kernel ]]; then
    kernel=$(for d in /lib/modules/*/build; do [[ -d $d ]] && basename "${d%/build}"; done |
        sort -V | tail -n1)
fi
[[ -n $kernel && -d /lib/modules/$kernel/build ]] ||
    { echo "upstream-check: no kernel headers for '${kernel}'" >&2; exit 1; }

if ! ref_fetch; then
    echo "upstream-check: cannot download dkms ${REF_VERSION} (skipped)" >&2
    exit 77
fi

work=$(mktemp -d /tmp/dkms-upstream-suite.XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -xzf "$(ref_orig_path)" -C "$work"
suite=$(dirname "$(find "$work" -maxdepth 2 -name run_test.sh | head -n1)")
[[ -f $suite/run_test.sh ]] || { echo "upstream-check: run_test.sh not in tarball" >&2; exit 1; }

if [[ $side == reference ]]; then
    ref_install_upstream || { echo "upstream-check: installing the reference failed" >&2; exit 1; }
else
    ref_install_ours "$bin" || { echo "upstream-check: installing $bin failed" >&2; exit 1; }
fi

# run_test.sh derives the expected module suffix from the kernel's
# CONFIG_MODULE_COMPRESS_*, while dkms looks for compressed modules under
# /lib/modules/K. A headers-only kernel has none, so give it one real
# compressed module to look at (only in this throw-away root).
config=/lib/modules/$kernel/build/.config
sfx=
grep -q '^CONFIG_MODULE_COMPRESS_GZIP=y' "$config" 2>/dev/null && sfx=gz
grep -q '^CONFIG_MODULE_COMPRESS_XZ=y' "$config" 2>/dev/null && sfx=xz
grep -q '^CONFIG_MODULE_COMPRESS_ZSTD=y' "$config" 2>/dev/null && sfx=zst
if [[ -n $sfx ]] && ! find "/lib/modules/$kernel" -name "*.ko.$sfx" -print -quit 2>/dev/null | grep -q .; then
    marker=/lib/modules/$kernel/kernel/dkms-suite/marker.ko
    mkdir -p "$(dirname "$marker")"
    printf '\177ELF' >"$marker"
    case $sfx in gz) gzip -f "$marker" ;; xz) xz -f "$marker" ;; zst) zstd -q --rm -f "$marker" ;; esac
    echo "upstream-check: added $marker.$sfx so dkms sees a $sfx-compressed kernel"
fi

echo "upstream-check: side=$side dkms=$(command -v dkms) kernel=$kernel running=$(uname -r)"
start=$SECONDS
rc=0
(cd "$suite" && KERNEL_VER=$kernel stdbuf -oL -eL ./run_test.sh) >"$log" 2>&1 || rc=$?
elapsed=$((SECONDS - start))

# A step is one of the constant `echo '...'` / `echo "..."` announcements
# in run_test.sh (the '*** ...' lines are section headers). The suite stops
# at the first failing step, so the last announcement printed is the one
# that failed.
step_re=$'^\\s*echo (\'[^*\'][^\']*\'|"[^*"$][^"$]*")\\s*$'
grep -P "$step_re" "$suite/run_test.sh" | sed -E 's/^\s*echo .(.*).\s*$/\1/' | sort -u >"$work/steps"
total=$(grep -cP "$step_re" "$suite/run_test.sh")
seen=$(grep -nxFf "$work/steps" "$log" || true)
count=$(grep -c . <<<"$seen" || true)
if ((rc == 0)) && grep -q '^\*\*\* All tests successful' "$log"; then
    echo "upstream-check: PASS: all $count steps passed (${elapsed}s, log: $log)"
    exit 0
fi
last=$(tail -n1 <<<"$seen")
echo "upstream-check: FAIL (exit $rc) after ${elapsed}s: $((count > 0 ? count - 1 : 0)) steps passed," \
    "failed at step $count of ~$total: '${last#*:}' (log line ${last%%:*})"
echo "---- output from the failing step (log: $log) ----"
tail -n +"${last%%:*}" "$log" | head -n 60
exit 1
