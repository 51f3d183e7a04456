#!/bin/bash
# Parallel autoinstall benchmark (issue 3): `dkms autoinstall -k K` for 8
# independent small modules, from the "added" state, timed for
#   - ours with parallel_jobs=1 (upstream's serial order),
#   - ours with the default parallel_jobs (the CPU count),
#   - upstream DKMS 3.2.2 (Debian's dkms=3.2.2-1~deb13u1, unpacked from
#     build/ref/ with dpkg -x), same options,
# in the same run, and compares the wall times with the ideal: the sum of
# the single module build+install times divided by the cores. Before timing
# it checks that all three print the same transcript.
#
#   bench/autoinstall.sh DKMS_BINARY [WORKDIR]
#
# Everything happens in throw-away trees under WORKDIR (default
# build-bench-autoinstall/ in the repository; --dkmstree, --sourcetree and
# --installtree, with modules/K/build -> /lib/modules/K/build and no
# modules.dep, so depmod is skipped; signing key in the fixture, exported as
# mok_signing_key/mok_certificate), so nothing under /var/lib/dkms or
# /lib/modules is touched. Environment: RUNS (default 3: timed runs of each,
# the first being the transcript run), KERNEL (default:
# the newest kernel with headers), N (default 8 modules).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ours=$(realpath "${1:?usage: $0 DKMS_BINARY [WORKDIR]}")
work=$(realpath -m "${2:-$repo/build-bench-autoinstall}")
runs=${RUNS:-3}
n=${N:-8}
cores=$(nproc)
export LC_ALL=C

kernel=${KERNEL:-$(for d in /lib/modules/*/build/include; do
    [[ -d $d ]] && d=${d%/build/include} && echo "${d##*/}"
done | sort -V | tail -n1)}
[[ -n $kernel && -d /lib/modules/$kernel/build/include ]] ||
    { echo "no kernel with headers" >&2; exit 77; }

# Upstream: Debian's package, cached in build/ref/ (fetched if missing).
# shellcheck disable=SC1091 # tests/upstream/ref.sh
. "$repo/tests/upstream/ref.sh"
ref_fetch || { echo "cannot fetch upstream 3.2.2" >&2; exit 77; }
upstream=$work/upstream/usr/sbin/dkms
[[ -x $upstream ]] || { mkdir -p "$work/upstream" && dpkg -x "$(ref_deb_path)" "$work/upstream"; }

# --- fixture: N renamed copies of dkms_hello_test, added ------------------
run=$work/run
pristine=$work/pristine
rm -rf "$run" "$pristine"
mkdir -p "$run/src" "$run/dt" "$run/modules/$kernel"
ln -s "/lib/modules/$kernel/build" "$run/modules/$kernel/build"
export mok_signing_key=$run/mok.key mok_certificate=$run/mok.pub
openssl req -new -x509 -nodes -days 36500 -subj "/CN=dkms autoinstall bench" \
    -newkey rsa:2048 -keyout "$mok_signing_key" -addext "extendedKeyUsage=codeSigning" \
    -outform DER -out "$mok_certificate" >/dev/null 2>&1
trees=(--dkmstree "$run/dt" --sourcetree "$run/src" --installtree "$run/modules")
names=()
for i in $(seq 1 "$n"); do
    name=dkms_bench${i}_test
    names+=("$name")
    d=$run/src/$name-1.0
    mkdir -p "$d"
    # Every name changes: package, built module, source file, object.
    sed "s/dkms_hello_test/$name/g" "$repo/tests/modules/dkms_hello_test-1.0/dkms.conf" >"$d/dkms.conf"
    sed "s/dkms_hello_test/$name/g" "$repo/tests/modules/dkms_hello_test-1.0/Makefile" >"$d/Makefile"
    sed "s/dkms_hello_test/$name/g" "$repo/tests/modules/dkms_hello_test-1.0/dkms_hello_test.c" >"$d/$name.c"
    "$ours" add "${trees[@]}" -m "$name" -v 1.0 >/dev/null
done
cp -a "$run" "$pristine"
restore="rm -rf $run && cp -a $pristine $run"
reset() { bash -c "$restore"; }

# --- transcripts must match before timing means anything -----------------
# Each labelled run restores the pristine tree, then times the command (wall
# and CPU time of dkms and its children) and keeps its transcript.
normalise() { # file -> stdout: temp names, the work dir and the progress
    # dots (one per interval of waiting, so timing-dependent) made constant
    sed -E -e "s|$work|WORK|g" -e 's/\.{3,} done\./... done./' -e 's|/tmp/dkms\.[A-Za-z0-9]+|/tmp/dkms.TMP|g' \
        -e 's|/tmp/tmp\.[A-Za-z0-9]+|/tmp/tmp.TMP|g' "$1"
}
declare -A cmd=(
    [upstream]="$upstream ${trees[*]} autoinstall -k $kernel"
    [upstream-j1]="parallel_jobs=1 $upstream ${trees[*]} autoinstall -k $kernel"
    [ours-j1]="parallel_jobs=1 $ours ${trees[*]} autoinstall -k $kernel"
    [ours]="$ours ${trees[*]} autoinstall -k $kernel"
)
timed_run() { # label -> appends "label wall user sys" to $work/times
    local label=$1 rc=0 t
    reset
    t=$( { TIMEFORMAT='%R %U %S'; time bash -c "${cmd[$label]}" \
        >"$work/transcript.$label" 2>&1; } 2>&1) || rc=$?
    echo "exit $rc" >>"$work/transcript.$label"
    normalise "$work/transcript.$label" >"$work/transcript.$label.norm"
    echo "$label $t" >>"$work/times"
}
: >"$work/times"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for label in upstream upstream-j1 ours-j1 ours; do timed_run "$label"; done
grep -q "^Autoinstall on $kernel succeeded for module(s) " "$work/transcript.upstream" ||
    { echo "upstream's autoinstall did not succeed:" >&2; cat "$work/transcript.upstream" >&2; exit 1; }
same=1
for pair in "upstream-j1 ours-j1" "upstream ours"; do
    read -r a b <<<"$pair"
    if ! cmp -s "$work/transcript.$a.norm" "$work/transcript.$b.norm"; then
        echo "TRANSCRIPTS DIFFER: $a vs $b" >&2
        diff "$work/transcript.$a.norm" "$work/transcript.$b.norm" >&2 || true
        same=0
    fi
done
((same)) || exit 1

# --- single module build+install times (the work to share out) ----------
reset
single_sum=0
for name in "${names[@]}"; do
    t0=$(date +%s.%N)
    "$ours" install "${trees[@]}" -m "$name" -v 1.0 -k "$kernel" >/dev/null 2>&1
    t1=$(date +%s.%N)
    single_sum=$(python3 -c "print($single_sum + $t1 - $t0)")
done

# --- more timed runs, the three contenders taking turns -------------------
# (round robin rather than hyperfine's one command after another, so a
# change in the machine's load falls on all three alike)
for ((round = 2; round <= runs; round++)); do
    for label in upstream ours-j1 ours; do timed_run "$label"; done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
reset

python3 - "$work/times" "$single_sum" "$cores" "$n" "$kernel" "$load_start" "$load_end" "$runs" <<'EOF'
import json, sys
path, single, cores, n, kernel, load0, load1, runs = sys.argv[1:]
single, cores = float(single), int(cores)
runs_of = {}
for line in open(path):
    label, wall, user, system = line.split()
    runs_of.setdefault(label, []).append((float(wall), float(user) + float(system)))
def mean(label, i=0):
    v = [r[i] for r in runs_of[label]]
    return sum(v) / len(v)
up, j1, par = mean("upstream"), mean("ours-j1"), mean("ours")
ideal = single / cores
print(f"Machine: {cores} CPUs; load average {load0} at start, {load1} at end")
print(f"Fixture: {n} independent modules (renamed dkms_hello_test), "
      f"dkms autoinstall -k {kernel} from the added state")
print()
print("| dkms | runs | mean wall time | min | CPU time (user+sys) | upstream / this |")
print("|---|---|---|---|---|---|")
for label, name in (("upstream 3.2.2 (its default: make -j%d)" % cores, "upstream"),
                    ("upstream 3.2.2, parallel_jobs=1", "upstream-j1"),
                    ("ours, parallel_jobs=1", "ours-j1"),
                    (f"ours, default (parallel_jobs={cores})", "ours")):
    walls = [r[0] for r in runs_of[name]]
    print(f"| {label} | {len(walls)} | {mean(name):.1f} s | {min(walls):.1f} s | "
          f"{mean(name, 1):.1f} s | {up / mean(name):.2f}x |")
print()
print(f"Sum of the {n} single build+install times (ours, one after another): {single:.1f} s")
print(f"Ideal (sum / {cores} cores): {ideal:.1f} s; ours with the default reaches "
      f"{ideal / par * 100:.0f}% of it; speed-up over our serial run {j1 / par:.2f}x")
EOF
echo "Transcripts (normalised) equal: upstream = ours with the default, upstream = ours with parallel_jobs=1"
