#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Snippets are single-quoted on purpose: they expand in the child bash.
# shellcheck disable=SC2016
# Self-test of lib.sh: the assertion helpers must pass what is right and,
# more importantly, catch what is wrong. Failing cases run in a separate
# bash so their failures do not count against this test. Needs no dkms.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LIB="$LIB_DIR/lib.sh"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dkms-it.selftest.XXXXXX")
LIB_TREES+=("$SCRATCH")

# snippet CODE: run CODE in a fresh bash that has sourced lib.sh, from a
# file called snippet.sh; output in OUT, status in RC.
snippet() {
    printf 'source %q\n%s\n' "$LIB" "$1" >"$SCRATCH/snippet.sh"
    OUT=$(cd "$SCRATCH" && bash snippet.sh 2>&1) && RC=0 || RC=$?
}

# --- passing assertions count as passes
snippet 'assert_eq "a
b" "a
b"; assert_contains "hello world" "lo wo"; assert_not_contains abc x; finish'
assert_eq 0 "$RC" "passing assertions exit 0"
assert_eq "3 passed, 0 failed" "$OUT" "passing assertions tally"

# --- assert_eq failure: exit 1, location, diff, tally
snippet 'a=$(printf "one\ntwo"); b=$(printf "one\nthree"); assert_eq "$a" "$b" "the values"
finish'
assert_eq 1 "$RC" "failing assert_eq makes finish exit 1"
assert_contains "$OUT" "FAIL at snippet.sh:2: the values" "failure names file, line, message"
assert_contains "$OUT" "-two" "diff shows the expected line"
assert_contains "$OUT" "+three" "diff shows the actual line"
assert_contains "$OUT" "0 passed, 1 failed" "tally counts the failure"

# --- a failure is remembered even when later assertions pass
snippet 'assert_eq x y; assert_eq z z; finish'
assert_eq 1 "$RC" "one failure among passes still fails"
assert_contains "$OUT" "1 passed, 1 failed"

# --- assert_contains / assert_not_contains failures (needle is literal)
snippet 'assert_contains "abc" "a*c"; finish'
assert_eq 1 "$RC" "assert_contains treats the needle literally"
assert_contains "$OUT" "expected to find: a*c"
snippet 'assert_not_contains "abc" "b"; finish'
assert_eq 1 "$RC" "assert_not_contains detects the part"

# --- file assertions
touch "$SCRATCH/present"
ln -s "$SCRATCH/nowhere" "$SCRATCH/dangling"
assert_file "$SCRATCH/present"
assert_no_file "$SCRATCH/absent"
snippet "assert_file '$SCRATCH/absent'; finish"
assert_eq 1 "$RC" "assert_file detects a missing file"
snippet "assert_no_file '$SCRATCH/present'; finish"
assert_eq 1 "$RC" "assert_no_file detects an existing file"
snippet "assert_no_file '$SCRATCH/dangling'; finish"
assert_eq 1 "$RC" "assert_no_file detects a dangling symlink"

# --- expect_exit captures merged output and the status
expect_exit 3 bash -c 'echo out; echo err >&2; exit 3'
assert_eq 3 "$RC" "expect_exit stores the status"
assert_eq "out
err" "$OUT" "expect_exit merges stdout and stderr"
snippet 'expect_exit 0 bash -c "echo oops; exit 4"; finish'
assert_eq 1 "$RC" "expect_exit detects a wrong status"
assert_contains "$OUT" "exit status 4, expected 0"
assert_contains "$OUT" "oops" "expect_exit shows the command's output"
snippet 'set -e; expect_exit 1 false; echo still running; expect_exit 4 false; echo not reached'
assert_contains "$OUT" "still running" "a failing command does not end a set -e test"
assert_contains "$OUT" "exit status 1, expected 4"
assert_not_contains "$OUT" "not reached" "a failing assertion ends a set -e test"

# --- finish refuses a test that checked nothing; skip exits 77
snippet 'finish'
assert_eq 1 "$RC" "finish fails when nothing was asserted"
assert_contains "$OUT" "no assertions were run"
snippet 'skip not today; echo unreachable'
assert_eq 77 "$RC" "skip exits 77"
assert_eq "SKIP: not today" "$OUT"

# --- kernels
newest=$(newest_kernels 2)
assert_eq "$(printf '%s\n' "$newest" | sort -V -r)" "$newest" "newest_kernels lists newest first"
if [[ $newest ]]; then
    assert_eq 1 "$(newest_kernels 1 | wc -l)" "newest_kernels 1 gives one kernel"
    assert_eq "$(kernels_with_headers | tail -n 1)" "$(newest_kernels 1)"
    while read -r k; do
        assert_file "/lib/modules/$k/build/include" "headers of $k"
    done <<<"$newest"
fi

# --- make_tree, dkms_t, fakes, norm, clean-up (in a separate bash, with a
# stand-in dkms that prints its arguments and the signing variables)
cat >"$SCRATCH/fake-dkms" <<'EOF'
#!/bin/bash
printf '[%s]' "$@"
echo
echo "key=$mok_signing_key cert=$mok_certificate"
EOF
chmod +x "$SCRATCH/fake-dkms"
snippet "DKMS='$SCRATCH/fake-dkms'"'
make_tree
echo "tree=$T"
dkms_t status -k 1.2.3 | norm
for k in $(kernels_with_headers); do
    [[ $(readlink "$T/modules/$k/build") == "/lib/modules/$k/build" ]] || echo "bad link for $k"
done
fake_xz_kernel 9.9.9
fake_dummy_kernel 9.9.9
fake_dummy_kernel 9.9.8 xz
find "$T/modules/9.9.9" "$T/modules/9.9.8" -type f | norm | sort'
tree=$(sed -n 's/^tree=//p' <<<"$OUT")
assert_eq 0 "$RC" "make_tree snippet runs"
assert_contains "$OUT" "[--dkmstree][\$T/dkms][--sourcetree][\$T/src][--installtree][\$T/modules][status][-k][1.2.3]" \
    "dkms_t passes the tree options first"
assert_contains "$OUT" "key=\$T/mok.key cert=\$T/mok.pub" "signing material stays in the tree"
assert_not_contains "$OUT" "bad link" "modules/<K>/build points at the real headers"
assert_contains "$OUT" "\$T/modules/9.9.9/kernel/drivers/net/dummy.ko
\$T/modules/9.9.9/kernel/fs/x.ko.xz" "fakes are placed"
assert_contains "$OUT" "\$T/modules/9.9.8/kernel/drivers/net/dummy.ko.xz"
assert_contains "$tree" "/dkms-it." "tree is a dkms-it temp dir"
assert_no_file "$tree" "the tree is deleted when the test exits"

# finish is itself under test: do not rely on it alone for the verdict.
((LIB_FAILED == 0)) || {
    echo "$LIB_PASSED passed, $LIB_FAILED failed"
    exit 1
}
finish
