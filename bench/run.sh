#!/bin/bash
# Runs the speed benchmark of issue 5: upstream DKMS 3.2.2 (Debian's
# dkms=3.2.2-1~deb13u1, unpacked from build/ref/, fetched by
# tests/upstream/ref.sh) against ours on the bench/fixture.sh trees, with
# hyperfine, in the same run. Prints medians and ratios as a Markdown
# table. Run it as root inside scripts/isolate (install signs modules and
# may create MOK keys under /var/lib/dkms):
#
#   scripts/isolate bash bench/run.sh build-speed/dkms [WORKDIR]
#
# Environment: SIZES (default "10 30 100 300": the status scaling series),
# SETTLE (default 5: seconds of pause before each timing of ours),
# MAIN (default 30: the size for the per-command table), UPSTREAM_RUNS
# (default 3), RUNS (default 50; ours runs half of them before upstream and
# half after, pooled), UPSTREAM_SCALING_MAX (default 30: larger
# sizes are timed for ours only; upstream needs minutes per run there).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ours=$(realpath "$1")
# Absolute: upstream compares resolved links with DT/m/v/K/A as given, so a
# relative tree would make every installed pair read as built.
work=$(realpath -m "${2:-$repo/build-speed/bench-work}")
sizes=${SIZES:-10 30 100 300}
main=${MAIN:-30}
runs=${RUNS:-50}
up_runs=${UPSTREAM_RUNS:-3}
up_max=${UPSTREAM_SCALING_MAX:-30}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 77; }

deb=$repo/build/ref/dkms_3.2.2-1~deb13u1_all.deb
if [[ ! -s $deb ]]; then
    # shellcheck source=../tests/upstream/ref.sh
    . "$repo/tests/upstream/ref.sh"
    ref_fetch || { echo "cannot fetch upstream 3.2.2" >&2; exit 77; }
fi
mkdir -p "$work/upstream"
[[ -x $work/upstream/usr/sbin/dkms ]] || dpkg -x "$deb" "$work/upstream"
upstream=$work/upstream/usr/sbin/dkms

# hyperfine's own report of every timing goes to $work/hyperfine.log.
: >"$work/hyperfine.log"
fail() {
    echo "hyperfine failed ($1); the end of $work/hyperfine.log:" >&2
    tail -n 15 "$work/hyperfine.log" >&2
    exit 1
}

# Two hyperfine JSON files of one command -> one with all their times and
# the median of those.
pool() {
    python3 -c 'import json,statistics,sys
t=[x for f in sys.argv[1:] for x in json.load(open(f))["results"][0]["times"]]
json.dump({"results":[{"median":statistics.median(t),"times":t}]},sys.stdout)' "$@"
}

# hyperfine's JSON -> median in ms.
median() { python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"]*1000))' "$@"; }

# bench NAME RUNS_UPSTREAM RUNS_OURS [PREPARE] -- COMMAND-ARGS...
# Times "<dkms> <trees> COMMAND-ARGS" for upstream and ours; prints a row.
row() {
    local label=$1 n=$2 prepare=$3; shift 3
    local t=${TREES:-"--dkmstree $work/dt-$n --sourcetree $work/src-$n --installtree $work/modules-$n"}
    local json=$work/result.json
    local p=()
    [[ -z $prepare ]] || p=(--prepare "$prepare")
    # Ours in two halves, before and after upstream's runs, pooled: this
    # VM has slow spells minutes long, and one block of runs can land in
    # one. Each half starts after a pause: upstream's thousands of processes
    # leave the machine busy for a moment (reaping, writeback).
    local half=$(( (runs + 1) / 2 ))
    sleep "${SETTLE:-5}"
    hyperfine -N -w 5 -r "$half" "${p[@]}" --export-json "$json.ours1" \
        "$ours $t $*" >>"$work/hyperfine.log" 2>&1 || fail "ours: $*"
    hyperfine -N -w 1 -r "$up_runs" "${p[@]}" --export-json "$json.up" \
        "$upstream $t $*" >>"$work/hyperfine.log" 2>&1 || fail "upstream: $*"
    sleep "${SETTLE:-5}"
    hyperfine -N -w 5 -r "$half" "${p[@]}" --export-json "$json.ours2" \
        "$ours $t $*" >>"$work/hyperfine.log" 2>&1 || fail "ours: $*"
    pool "$json.ours1" "$json.ours2" >"$json.ours"
    local u o
    u=$(median "$json.up" 0)
    o=$(median "$json.ours" 0)
    printf '| %s | %s ms | %s ms | %sx |\n' "$label" "$u" "$o" \
        "$(python3 -c "print('%.0f' % ($u/$o))")"
}

ours_only() { # n -> median of ours' status
    local n=$1 json=$work/result.json
    sleep "${SETTLE:-5}"
    local t="--dkmstree $work/dt-$n --sourcetree $work/src-$n --installtree $work/modules-$n"
    hyperfine -N -w 3 -r "$runs" --export-json "$json.ours" "$ours $t status" \
        >>"$work/hyperfine.log" 2>&1 || fail "ours: status ($n modules)"
    median "$json.ours" 0
}

for n in $sizes; do
    [[ -e $work/kernels-$n ]] || bash "$repo/bench/fixture.sh" "$ours" "$work" "$n" >&2
done
mapfile -t kernels <"$work/kernels-$main"
k=${kernels[1]}
t="--dkmstree $work/dt-$main --sourcetree $work/src-$main --installtree $work/modules-$main"

# Output must match before timing means anything.
"$upstream" $t status >"$work/status.up" 2>&1
"$ours" $t status >"$work/status.ours" 2>&1
if ! cmp -s "$work/status.up" "$work/status.ours"; then
    echo "status output differs from upstream's:" >&2
    diff "$work/status.up" "$work/status.ours" >&2 || true
    exit 1
fi

echo "Machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; kernel $(uname -r)"
# What any process costs here, for reading the millisecond rows: this VM's
# exec floor moves by tens of percent from day to day.
hyperfine -N -w 5 -r "$runs" --export-json "$work/floor.json" /bin/true "$ours --version" \
    >>"$work/hyperfine.log" 2>&1 || fail "process floor"
echo "Process floor (medians): /bin/true $(median "$work/floor.json" 0) ms, ours --version $(median "$work/floor.json" 1) ms"
echo "Fixture: $main modules x ${#kernels[@]} kernels (${kernels[*]}), all installed, modules .ko$(
    ls "$work/modules-$main/$k/updates/dkms/" | head -n1 | sed 's/.*\.ko//')"
echo
echo "| command ($main modules x ${#kernels[@]} kernels) | upstream 3.2.2 | ours | ratio |"
echo "|---|---|---|---|"
row "\`dkms status\`" "$main" "" status
row "\`dkms status -m one\`" "$main" "" status -m bench_mod_001
row "\`dkms autoinstall -k K\`, nothing to do" "$main" "" autoinstall -k "$k"
# One small module: add -> built -> installed; its MAKE only copies a
# prebuilt .ko, so the time is dkms's own (depmod skipped: no modules.dep).
# bench_noop has trees of its own, next to the same install tree.
nt="--dkmstree $work/dt-noop-$main --sourcetree $work/src-noop-$main --installtree $work/modules-$main"
unb="$ours $nt unbuild -m bench_noop -v 1.0 -k $k"
TREES=$nt row "\`dkms install\` of one module, MAKE = cp" "$main" "$unb" install -m bench_noop -v 1.0 -k "$k"
install_row_json=$work/result.json.ours.install
cp "$work/result.json.ours" "$install_row_json"
# The same without the conf record an earlier evaluation left
# (DT/m/v/.conf-cache-K-A), as on the first build of a module for a kernel:
# bench_noop's dkms.conf only assigns literal text, read in process.
rec="$work/dt-noop-$main/bench_noop/1.0/.conf-cache-$k-$(uname -m)"
TREES=$nt row "\`dkms install\`, as above, dkms.conf not yet recorded" "$main" \
    "bash -c '$unb; rm -f $rec'" install -m bench_noop -v 1.0 -k "$k"
fresh_json=$work/result.json.ours.fresh
cp "$work/result.json.ours" "$fresh_json"
# And with expansions in dkms.conf (same values): of variables whose values
# are known, still read in process; with an operator, bash evaluates it.
conf=$work/src-noop-$main/bench_noop-1.0/dkms.conf
[[ ! -e $conf.orig ]] || mv "$conf.orig" "$conf" # left by an interrupted run
cp "$conf" "$conf.orig"
echo 'PACKAGE_VERSION="${PACKAGE_VERSION}"' >>"$conf"
TREES=$nt row "\`dkms install\`, as above, dkms.conf naming variables (\`\${PACKAGE_VERSION}\`)" \
    "$main" "bash -c '$unb; rm -f $rec'" install -m bench_noop -v 1.0 -k "$k"
vars_json=$work/result.json.ours.vars
cp "$work/result.json.ours" "$vars_json"
cp "$conf.orig" "$conf"
echo 'PACKAGE_VERSION="${PACKAGE_VERSION:-}"' >>"$conf"
TREES=$nt row "\`dkms install\`, as above, dkms.conf bash evaluates (\`\${PACKAGE_VERSION:-}\`)" \
    "$main" "bash -c '$unb; rm -f $rec'" install -m bench_noop -v 1.0 -k "$k"
mv "$conf.orig" "$conf"
$unb >/dev/null 2>&1 || true
# What of that is make's own: the same make run on a copy of the source.
mk=$work/make-only
rm -rf "$mk" && cp -a "$work/src-noop-$main/bench_noop-1.0" "$mk"
hyperfine -N -w 3 -r "$runs" --prepare "rm -f $mk/bench_noop.ko" --export-json "$work/make.json" \
    "make -C $mk -j$(nproc) KERNELRELEASE=$k" >>"$work/hyperfine.log" 2>&1 || fail "make alone"
install_ms=$(median "$install_row_json" 0)
fresh_ms=$(median "$fresh_json" 0)
vars_ms=$(median "$vars_json" 0)
bash_ms=$(median "$work/result.json.ours" 0)
make_ms=$(median "$work/make.json" 0)
own() { python3 -c "print('%.0f' % ($1 - $make_ms))"; }
echo
echo "Of ours' install, make itself (the same make run alone) took $make_ms ms: dkms's own part is about $(
    own "$install_ms") ms ($(own "$fresh_ms") ms on a first build, $(own "$vars_ms") ms with variables named in dkms.conf, $(own "$bash_ms") ms when bash evaluates it)."
echo
echo "Scaling of \`dkms status\` (all entries installed, ${#kernels[@]} kernels):"
echo
echo "| modules | entries | upstream 3.2.2 | ours | ours per entry |"
echo "|---|---|---|---|---|"
for n in $sizes; do
    o=$(ours_only "$n")
    u="(not run)"
    if (( n <= up_max )); then
        tn="--dkmstree $work/dt-$n --sourcetree $work/src-$n --installtree $work/modules-$n"
        hyperfine -N -w 0 -r "$up_runs" --export-json "$work/result.json.up" \
            "$upstream $tn status" >>"$work/hyperfine.log" 2>&1 || fail "upstream: status ($n modules)"
        u="$(median "$work/result.json.up" 0) ms"
    fi
    e=$((n * ${#kernels[@]}))
    printf '| %s | %s | %s | %s ms | %s µs |\n' "$n" "$e" "$u" "$o" \
        "$(python3 -c "print('%.0f' % ($o*1000/$e))")"
done
