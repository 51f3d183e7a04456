#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The CC that make and build scripts see when the kernel's headers carry a
# .kernelvariables file (SPEC §6.4): what upstream's probe
#   make -f - show-CC   (with "include <ksrc>/.kernelvariables")
# prints. dkms answers plain files in process (core::probe_make_variable) and
# runs make for the rest; either way the value must be make's own, checked
# here by running that make next to each build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Run from make (make check), the environment tells make it is a sub-make,
# and every make below prints "Entering directory" lines: start clean.
unset MAKELEVEL MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKEFILES
make_tree
K=9.9.9-cc
ksrc="$T/modules/$K/build"
# No CONFIG_CC_VERSION_TEXT: the probe's answer is the CC exported.
mkdir -p "$ksrc/include"
echo "CONFIG_LOCALVERSION=\"\"" >"$ksrc/.config"

pkg="$T/src/ccprobe-1.0"
mkdir -p "$pkg"
echo "not a real module" >"$pkg/blob"
# A script, so that $CC is read when MAKE runs (dkms.conf values are
# expanded once more while the file is read, as upstream does).
cat >"$pkg/record-cc.sh" <<SCRIPT
printf '%s\\n' "\$CC" >"$T/cc-seen"
cp blob ccprobe.ko
SCRIPT
cat >"$pkg/dkms.conf" <<'CONF'
PACKAGE_NAME="ccprobe"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="ccprobe"
DEST_MODULE_LOCATION[0]="/updates/dkms"
STRIP[0]="no"
MAKE[0]="sh record-cc.sh"
CONF
expect_exit 0 dkms_t add -m ccprobe -v 1.0

# probe_case LABEL: build with the current .kernelvariables and environment,
# compare the CC the build saw with make's answer.
probe_case() {
    local expected
    # dkms drops CC, CXX, CFLAGS, CXXFLAGS and LDFLAGS from its environment
    # first, as upstream does.
    # In dkms's directory, where its make runs.
    expected=$(printf 'show-%%:\n\t@echo $($*)\ninclude %s\n' \
        "$ksrc/.kernelvariables" |
        env -u CC -u CXX -u CFLAGS -u CXXFLAGS -u LDFLAGS make -f - show-CC)
    rm -f "$T/cc-seen"
    expect_exit 0 dkms_t build -m ccprobe -v 1.0 -k "$K"
    assert_eq "$(cat "$T/cc-seen" 2>/dev/null)" "$expected" "CC seen by MAKE: $1"
    expect_exit 0 dkms_t unbuild -m ccprobe -v 1.0 -k "$K"
}

# Debian's own files: plain assignments (6.12) and an ifneq block (6.1), both
# answered in process.
found=0
for f in /usr/src/linux-headers-*/.kernelvariables; do
    [[ -f $f ]] || continue
    found=1
    cp "$f" "$ksrc/.kernelvariables"
    probe_case "$f"
    DEBIAN_KERNEL_USE_CCACHE=1 probe_case "$f with DEBIAN_KERNEL_USE_CCACHE=1"
    CROSS_COMPILE=arm-linux-gnueabi- probe_case "$f with CROSS_COMPILE in the environment"
done

cat >"$ksrc/.kernelvariables" <<'KV'
# a comment
TOOLPREFIX ?= aarch64-linux-gnu-
CCACHE = ccache
SUFFIX := -13
CC = $(if $(USE_CCACHE),$(CCACHE) )$(TOOLPREFIX)gcc$(SUFFIX)
SUFFIX := -14
KV
probe_case "?=, := and \$(if)"
TOOLPREFIX=x86_64-linux-gnu- USE_CCACHE=y probe_case "?= and \$(if) from the environment"
CC=clang probe_case "CC in the caller's environment"
# make -e: the environment beats the file (answered by make itself).
MAKEFLAGS=-e SUFFIX=-99 probe_case "MAKEFLAGS=-e in the environment"

# Beyond plain assignments: answered by make itself.
cat >"$ksrc/.kernelvariables" <<'KV'
ARCHNAME := $(shell echo x86_64)
CC = $(ARCHNAME)-linux-gnu-gcc-12
KV
probe_case "\$(shell ...)"

if ((!found)); then
    echo "note: no Debian .kernelvariables under /usr/src; synthetic files only"
fi
finish
