#!/bin/bash
# dkms match (SPEC §2.10, quirk 9): what is installed on the template kernel
# gets built and installed on -k K; module/version come from the status
# "m/v" part (upstream 3.2.2 misparses it and cannot work). Errors and exit
# codes are upstream's.
#   match_test.sh <path-to-dkms-binary>
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_kernels 2
mapfile -t KS < <(newest_kernels 2)
TEMPLATE=${KS[0]}
K=${KS[1]}
A=$(uname -m)
M=dkms_hello_test

make_tree
make_signing_key
expect_exit 0 dkms_t add "$TEST_MODULES/$M-1.0"
expect_exit 0 dkms_t add "$TEST_MODULES/dkms_ver_test-1.0"
expect_exit 0 dkms_t install $M/1.0 -k "$TEMPLATE"

expect_exit 1 dkms_t match -k "$K"
assert_eq "
Error! Invalid number of parameters passed.
Usage: match --templatekernel=<kernel-version> -k <kernel-version>
   or: match --templatekernel=<kernel-version> -k <kernel-version> <module>" "$OUT"
expect_exit 2 dkms_t match --templatekernel="$K" -k "$K"
assert_eq "
Error! The templatekernel and the specified kernel version are the same." "$OUT"
expect_exit 3 dkms_t match --templatekernel="$TEMPLATE" -k "$K" nosuchmodule
assert_eq "
Error! The module: nosuchmodule is not located in the DKMS tree." "$OUT"
expect_exit 0 dkms_t match --templatekernel=0.0.0-none -k "$K"
assert_eq "
Matching modules in kernel: $K ($A)
to the configuration of kernel: 0.0.0-none ($A)

There is nothing to be done for this match." "$OUT"
# Only dkms_ver_test is named: it is not installed on the template.
expect_exit 0 dkms_t match --templatekernel="$TEMPLATE" -k "$K" dkms_ver_test
assert_contains "$OUT" "There is nothing to be done for this match."
assert_no_file "$T/dkms/dkms_ver_test/1.0/$K"

expect_exit 0 dkms_t match --templatekernel="$TEMPLATE" -k "$K" $M
assert_contains "$OUT" "Matching modules in kernel: $K ($A)
to the configuration of kernel: $TEMPLATE ($A)
Module:  $M
Version: 1.0"
assert_file "$T/modules/$K/updates/dkms/$M.ko"
expect_exit 0 dkms_t status $M -k "$K"
assert_eq "$M/1.0, $K, $A: installed" "$OUT"
# dkms_ver_test was not installed on the template, so it is left alone.
expect_exit 0 dkms_t status dkms_ver_test
assert_eq "dkms_ver_test/1.0: added" "$OUT"
# A second match finds everything done.
expect_exit 0 dkms_t match --templatekernel="$TEMPLATE" -k "$K"
assert_contains "$OUT" "Module $M/1.0 already built for kernel $K ($A), skip."
assert_contains "$OUT" "Module $M/1.0 already installed on kernel $K ($A), skip."

finish
