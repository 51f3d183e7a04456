#!/bin/bash
# Kernel hooks, dkms_autoinstaller, kernel-install plugins and common.postinst
# (data/), run against a stub "dkms" on PATH that records its arguments and
# answers "status" from per-kernel files. The common.postinst flows that
# need /etc/dkms, /var/lib/dkms, /usr/src and /boot run inside
# scripts/isolate (throw-away overlays), so they need root.
#   kernel_hooks_test.sh [path-to-dkms-binary]   (the binary is not needed)
set -u

repo=${DKMS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

finish() {
	if ((failures)); then
		echo "$failures check(s) failed in ${1:-kernel_hooks_test}" >&2
		exit 1
	fi
}

# set_up WORKDIR: generated scripts (paths pointing into WORKDIR), a stub
# dkms in WORKDIR/bin (also at the SBINDIR the autoinstaller checks), a stub
# uname answering $FAKE_UNAME_R, and a fake module tree WORKDIR/modules.
set_up() {
	work=$1
	mkdir -p "$work/bin" "$work/sbin" "$work/lib" "$work/kernel"/{postinst.d,header_postinst.d,preinst.d,prerm.d} \
		"$work/install.d" "$work/modules" "$work/fake/status" "$work/fake/rc" "$work/empty"
	local subst=(-e "s,@LIBDIR@,$work/lib,g" -e "s,@KCONFDIR@,$work/kernel,g"
		-e "s,@SBINDIR@,$work/sbin,g" -e "s,@MODDIR@,$work/modules,g")
	gen() { sed "${subst[@]}" "$repo/data/$1" >"$2" && chmod 755 "$2"; }
	gen kernel/postinst.d-dkms "$work/kernel/postinst.d/dkms"
	gen kernel/postinst.d-dkms "$work/kernel/header_postinst.d/dkms"
	gen kernel/preinst.d-dkms "$work/kernel/preinst.d/dkms"
	gen kernel/prerm.d-dkms "$work/kernel/prerm.d/dkms"
	gen kernel/kernel-install-debian "$work/install.d/40-dkms.install.debian"
	gen kernel/kernel-install-redhat "$work/install.d/40-dkms.install.redhat"
	gen dkms_autoinstaller "$work/lib/dkms_autoinstaller"
	gen common.postinst "$work/lib/common.postinst"

	cat >"$work/bin/dkms" <<'EOF'
#!/bin/bash
# Stub dkms: logs "$*" to $FAKE_DKMS/calls; "status" prints
# $FAKE_DKMS/status/<kernel>; build/install update that file; the exit
# status comes from $FAKE_DKMS/rc/<action>-<kernel> or rc/<action>.
fake=${FAKE_DKMS:?}
printf '%s\n' "$*" >>"$fake/calls"
action=$1 module="" version="" kernel="" arch=x86_64
shift
while (($#)); do
	case $1 in
		-m) module=$2; shift ;;
		-v) version=$2; shift ;;
		-k | --kernelver) kernel=$2; shift ;;
		-a) arch=$2; shift ;;
	esac
	shift
done
rc=0
if [[ -f $fake/rc/$action-$kernel ]]; then rc=$(<"$fake/rc/$action-$kernel")
elif [[ -f $fake/rc/$action ]]; then rc=$(<"$fake/rc/$action"); fi
status=$fake/status/$kernel
case $action in
	status) [[ -f $status ]] && cat "$status" ;;
	add)
		if [[ -f $fake/add-links-source ]]; then
			mkdir -p "/var/lib/dkms/$module/$version"
			ln -s "/usr/src/$module-$version" "/var/lib/dkms/$module/$version/source"
		fi
		;;
	build)
		# dkms build of an installed module is a no-op that succeeds.
		((rc)) || grep -qs ': installed' "$status" ||
			echo "$module/$version, $kernel, $arch: built" >"$status"
		;;
	install) ((rc)) || echo "$module/$version, $kernel, $arch: installed" >"$status" ;;
esac
exit "$rc"
EOF
	chmod 755 "$work/bin/dkms"
	cp "$work/bin/dkms" "$work/sbin/dkms"
	cat >"$work/bin/uname" <<'EOF'
#!/bin/sh
if [ "$1" = -r ] && [ -n "${FAKE_UNAME_R:-}" ]; then echo "$FAKE_UNAME_R"; else exec /bin/uname "$@"; fi
EOF
	chmod 755 "$work/bin/uname"
	export FAKE_DKMS=$work/fake
	export PATH="$work/bin:$PATH"
}

reset_fake() {
	rm -rf "$FAKE_DKMS"
	mkdir -p "$FAKE_DKMS/status" "$FAKE_DKMS/rc"
	: >"$FAKE_DKMS/calls"
}

# run_case NAME EXPECTED-RC EXPECTED-OUTPUT EXPECTED-CALLS COMMAND...
# Output is stdout+stderr without trailing newlines; calls are the stub's
# log, one call per line.
run_case() {
	local name=$1 want_rc=$2 want_out=$3 want_calls=$4 out rc calls
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	calls=$(<"$FAKE_DKMS/calls")
	[[ $rc == "$want_rc" ]] || fail "$name: exit status $rc, want $want_rc (output: $out)"
	[[ $out == "$want_out" ]] || fail "$name: output differs:"$'\n'"--- want"$'\n'"$want_out"$'\n'"--- got"$'\n'"$out"
	[[ $calls == "$want_calls" ]] || fail "$name: dkms calls differ:"$'\n'"--- want"$'\n'"$want_calls"$'\n'"--- got"$'\n'"$calls"
}

# ---------------------------------------------------------------------------
# Part 2 (inside scripts/isolate): common.postinst with real system paths.
if [[ ${1:-} == --isolated ]]; then
	set_up "$2"
	K1=5.10.0-1-amd64 K2=6.1.0-2-amd64 K3=6.12.0-3-amd64 KB=4.19.0-BOOT
	for k in $K1 $K2 $KB; do mkdir -p "$work/modules/$k/build/include"; done
	mkdir -p "$work/modules/$K3/build" # headers without include/: not usable
	postinst=$work/lib/common.postinst
	src=/usr/src/hooktest-1.0
	rm -rf /etc/dkms /var/lib/dkms/hooktest "$src"
	mkdir -p /etc/dkms "$src"
	printf 'PACKAGE_NAME=hooktest\nPACKAGE_VERSION=1.0\nAUTOINSTALL=yes\n' >"$src/dkms.conf"

	reset_fake
	: >/etc/dkms/no-autoinstall
	run_case "no-autoinstall" 0 "autoinstall for dkms modules has been disabled." "" \
		"$postinst" hooktest 1.0
	rm /etc/dkms/no-autoinstall

	# Fresh install, all kernels (framework.conf.d setting), no arch.
	reset_fake
	: >"$FAKE_DKMS/add-links-source"
	echo "hooktest/1.0, $K1, x86_64: built" >"$FAKE_DKMS/status/$K1"
	mkdir -p /etc/dkms/framework.conf.d
	echo 'autoinstall_all_kernels=y' >/etc/dkms/framework.conf.d/all.conf
	want_out="Loading new hooktest/1.0 DKMS files...
Building for $KB, $K1, $K2 and $K3

Module build and install for $KB was skipped as 
it is a BOOT variant


Building initial module hooktest/1.0 for $K2

Module build for kernel $K3 was skipped since the
kernel headers for this kernel do not seem to be installed."
	want_calls="add -m hooktest -v 1.0
status -m hooktest -v 1.0 -k $KB
status -m hooktest -v 1.0 -k $K1
install -m hooktest -v 1.0 -k $K1
status -m hooktest -v 1.0 -k $K2
build -m hooktest -v 1.0 -k $K2
status -m hooktest -v 1.0 -k $K2
install -m hooktest -v 1.0 -k $K2
status -m hooktest -v 1.0 -k $K3"
	run_case "all kernels" 0 "$want_out" "$want_calls" "$postinst" hooktest 1.0

	# Already registered: removed first. With an arch, every call has -a.
	reset_fake
	echo 'hooktest/1.0, '"$K1"', i386: installed' >"$FAKE_DKMS/status/$K1"
	echo 77 >"$FAKE_DKMS/rc/build-$K2"
	want_out="Removing old hooktest/1.0 DKMS files...
Loading new hooktest/1.0 DKMS files...
Building for $KB, $K1, $K2 and $K3
Building for architecture i386

Module build and install for $KB was skipped as 
it is a BOOT variant

Building initial module hooktest/1.0 for $K1

Building initial module hooktest/1.0 for $K2

Module build for kernel $K3 was skipped since the
kernel headers for this kernel do not seem to be installed."
	# An installed module shows no ": built", so it is "built" again (a
	# no-op in dkms) and then not installed again.
	want_calls="remove -m hooktest -v 1.0 --all
add -m hooktest -v 1.0
status -m hooktest -v 1.0 -k $KB -a i386
status -m hooktest -v 1.0 -k $K1 -a i386
build -m hooktest -v 1.0 -k $K1 -a i386
status -m hooktest -v 1.0 -k $K1 -a i386
status -m hooktest -v 1.0 -k $K2 -a i386
build -m hooktest -v 1.0 -k $K2 -a i386
status -m hooktest -v 1.0 -k $K3 -a i386"
	run_case "registered, arch, build skipped (77)" 0 "$want_out" "$want_calls" \
		"$postinst" hooktest 1.0 "" i386

	# A failing build ends the script with the build's status.
	reset_fake
	echo 10 >"$FAKE_DKMS/rc/build"
	out=$("$postinst" hooktest 1.0 2>&1)
	rc=$?
	[[ $rc == 10 ]] || fail "failing build: exit $rc, want 10"
	[[ $(grep -c '^build ' "$FAKE_DKMS/calls") == 1 && $(grep -c '^install ' "$FAKE_DKMS/calls") == 0 ]] ||
		fail "failing build: expected one build and no install, got $(<"$FAKE_DKMS/calls")"
	[[ $out == *"Building initial module hooktest/1.0 for $K1" ]] || fail "failing build: output $out"

	# A failing remove or add also ends the script (set -e).
	reset_fake
	echo 3 >"$FAKE_DKMS/rc/add"
	"$postinst" hooktest 1.0 >/dev/null 2>&1
	rc=$?
	[[ $rc == 3 ]] || fail "failing add: exit $rc, want 3"

	# AUTOINSTALL not set: only registered.
	reset_fake
	rm -rf /var/lib/dkms/hooktest
	: >"$FAKE_DKMS/add-links-source"
	printf 'PACKAGE_NAME=hooktest\nPACKAGE_VERSION=1.0\n' >"$src/dkms.conf"
	run_case "AUTOINSTALL off" 0 "Loading new hooktest/1.0 DKMS files...
Not building the hooktest module which does not have AUTOINSTALL enabled." \
		"add -m hooktest -v 1.0" "$postinst" hooktest 1.0
	printf 'PACKAGE_NAME=hooktest\nPACKAGE_VERSION=1.0\nAUTOINSTALL=yes\n' >"$src/dkms.conf"

	# Binaries-only: source is a plain directory, not a link.
	reset_fake
	rm -rf /var/lib/dkms/hooktest "$src"
	mkdir -p /var/lib/dkms/hooktest/1.0/source
	printf 'AUTOINSTALL=yes\n' >/var/lib/dkms/hooktest/1.0/source/dkms.conf
	rm -rf /etc/dkms/framework.conf.d
	echo 'autoinstall_all_kernels=y' >/etc/dkms/framework.conf
	rmdir "$work/modules/$KB/build/include" "$work/modules/$KB/build" "$work/modules/$KB" "$work/modules/$K3/build" "$work/modules/$K3"
	# remove is stubbed, so the directory stays; the script goes on.
	run_case "binaries only" 0 "Removing old hooktest/1.0 DKMS files...
Building for $K1 and $K2

This package appears to be a binaries-only package
 you will not be able to build against kernel $K1
 since the package source was not provided

This package appears to be a binaries-only package
 you will not be able to build against kernel $K2
 since the package source was not provided" \
		"remove -m hooktest -v 1.0 --all
status -m hooktest -v 1.0 -k $K1
status -m hooktest -v 1.0 -k $K2" "$postinst" hooktest 1.0

	# Tarball root: ldtarball instead of add; its failure is exit 2.
	reset_fake
	rm -rf /var/lib/dkms/hooktest
	mkdir -p "$work/tarballs"
	: >"$work/tarballs/hooktest-1.0.dkms.tar.gz"
	echo 1 >"$FAKE_DKMS/rc/ldtarball"
	run_case "ldtarball fails" 2 "

Unable to load DKMS tarball $work/tarballs/hooktest-1.0.dkms.tar.gz.
Common causes include: 
 - You must be using DKMS 2.1.0.0 or later to support binaries only
   distribution specific archives.
 - Corrupt distribution specific archive" "ldtarball --archive $work/tarballs/hooktest-1.0.dkms.tar.gz" "$postinst" hooktest 1.0 "$work/tarballs"

	# Default kernel selection: the running kernel plus the newest one
	# according to /boot/config-* (a private tmpfs here).
	rm -f /etc/dkms/framework.conf
	mkdir -p /var/lib/dkms/hooktest/1.0 "$work/modules/$K3/build/include"
	ln -s "$src" /var/lib/dkms/hooktest/1.0/source
	mkdir -p "$src"
	printf 'PACKAGE_NAME=hooktest\nPACKAGE_VERSION=1.0\nAUTOINSTALL=yes\n' >"$src/dkms.conf"
	if mount -t tmpfs tmpfs /boot 2>/dev/null; then
		: >"/boot/config-$K1" && : >"/boot/config-$K2" && : >"/boot/config-$K3"
		# selection_case NAME UNAME-R EXPECTED-HEADER KERNELS ARGS...: every
		# kernel is already built, so each selected one gets status+install.
		selection_case() {
			local name=$1 running=$2 header=$3 kernels=$4 k calls out
			shift 4
			reset_fake
			calls="remove -m hooktest -v 1.0 --all
add -m hooktest -v 1.0"
			out="Removing old hooktest/1.0 DKMS files...
Loading new hooktest/1.0 DKMS files...
$header"
			for k in $K1 $K2 $K3; do echo "hooktest/1.0, $k, x86_64: built" >"$FAKE_DKMS/status/$k"; done
			for k in $kernels; do
				calls+=$'\n'"status -m hooktest -v 1.0 -k $k"$'\n'"install -m hooktest -v 1.0 -k $k"
			done
			FAKE_UNAME_R=$running run_case "$name" 0 "$out" "$calls" "$postinst" hooktest 1.0 "$@"
		}
		# Running plus newest: the list is space-separated, so the message
		# has no comma (as upstream).
		selection_case "running + newest" "$K2" "Building for $K2 $K3" "$K2 $K3"
		selection_case "running is newest" "$K3" "Building for $K3" "$K3"
		# chroot: uname -r names a kernel not installed here.
		selection_case "chroot, upgrade" 1.2.3-1-host "It is likely that 1.2.3-1-host belongs to a chroot's host
Building for $K3" "$K3" "" "" upgrade
		selection_case "chroot, first install" 1.2.3-1-host "It is likely that 1.2.3-1-host belongs to a chroot's host
Building for $K1, $K2 and $K3" "$K1 $K2 $K3"
		# Only kernels at least as new as the running one count as newest,
		# so a newer host kernel leaves the full list even on upgrade.
		selection_case "chroot, newer host" 9.9.9-1-host "It is likely that 9.9.9-1-host belongs to a chroot's host
Building for $K1, $K2 and $K3" "$K1 $K2 $K3" "" "" upgrade
		umount /boot
	else
		echo "cannot mount a private /boot: kernel selection not tested"
	fi
	finish "isolated part"
	exit 0
fi

# ---------------------------------------------------------------------------
# Part 1: hooks with fake paths, no privileges needed.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set_up "$work"
K=6.1.0-77-amd64
mkdir -p "$work/modules/$K/build/include"

reset_fake
run_case "preinst.d" 0 "" "kernel_preinst -k $K" "$work/kernel/preinst.d/dkms" "$K"
reset_fake
echo 14 >"$FAKE_DKMS/rc/kernel_preinst"
run_case "preinst.d, dkms fails" 0 "" "kernel_preinst -k $K" "$work/kernel/preinst.d/dkms" "$K"
reset_fake
run_case "prerm.d" 0 "" "kernel_prerm -k $K" "$work/kernel/prerm.d/dkms" "$K"
reset_fake
echo 14 >"$FAKE_DKMS/rc/kernel_prerm"
run_case "prerm.d, dkms fails" 0 "" "kernel_prerm -k $K" "$work/kernel/prerm.d/dkms" "$K"
reset_fake
run_case "prerm.d, no dkms" 0 "" "" env PATH="$work/empty" /bin/sh "$work/kernel/prerm.d/dkms" "$K"
run_case "preinst.d, no dkms" 0 "" "" env PATH="$work/empty" /bin/sh "$work/kernel/preinst.d/dkms" "$K"

for hook in postinst.d header_postinst.d; do
	reset_fake
	run_case "$hook" 0 "" "autoinstall --kernelver $K" "$work/kernel/$hook/dkms" "$K"
done
reset_fake
echo 11 >"$FAKE_DKMS/rc/autoinstall"
run_case "postinst.d, autoinstall fails" 1 "" "autoinstall --kernelver $K" "$work/kernel/postinst.d/dkms" "$K"
reset_fake
run_case "postinst.d, no headers" 0 \
	"Automatic installation of modules for kernel 9.9-none was skipped since the kernel headers for this kernel do not seem to be installed." \
	"" "$work/kernel/postinst.d/dkms" 9.9-none

# The autoinstaller itself.
ai=$work/lib/dkms_autoinstaller
reset_fake
FAKE_UNAME_R=$K run_case "autoinstaller start (uname -r)" 0 "" "autoinstall --kernelver $K" "$ai" start
for verb in stop restart force-reload status reload; do
	reset_fake
	run_case "autoinstaller $verb" 0 "" "" "$ai" "$verb" "$K"
done
reset_fake
run_case "autoinstaller bogus" 2 "Usage: $ai {start}" "" "$ai" bogus
reset_fake
run_case "autoinstaller no argument" 2 "Usage: $ai {start}" "" "$ai"
mv "$work/sbin/dkms" "$work/sbin/dkms.off"
reset_fake
run_case "autoinstaller without dkms" 0 "" "" "$ai" start "$K"
mv "$work/sbin/dkms.off" "$work/sbin/dkms"
chmod 644 "$ai"
reset_fake
run_case "postinst.d, autoinstaller not executable" 0 "" "" "$work/kernel/postinst.d/dkms" "$K"
chmod 755 "$ai"

# kernel-install plugins.
deb=$work/install.d/40-dkms.install.debian
rh=$work/install.d/40-dkms.install.redhat
reset_fake
run_case "kernel-install debian add" 0 "" "autoinstall --kernelver $K" "$deb" add "$K" /boot/vmlinuz-$K
reset_fake
echo 11 >"$FAKE_DKMS/rc/autoinstall"
run_case "kernel-install debian add, failure" 0 "" "autoinstall --kernelver $K" "$deb" add "$K"
reset_fake
run_case "kernel-install debian remove" 0 "" "kernel_prerm -k $K" "$deb" remove "$K"
reset_fake
run_case "kernel-install debian other" 0 "" "" "$deb" inspect "$K"
reset_fake
run_case "kernel-install redhat add" 0 "" "kernel_postinst --kernelver $K" "$rh" add "$K" /boot/vmlinuz-$K
reset_fake
echo 11 >"$FAKE_DKMS/rc/kernel_postinst"
run_case "kernel-install redhat add, failure" 0 "" "kernel_postinst --kernelver $K" "$rh" add "$K"
reset_fake
run_case "kernel-install redhat remove" 0 "" "kernel_prerm --kernelver $K" "$rh" remove "$K"

# common.postinst argument check (before anything touches the system).
for args in "" "onlyname" "'' 1.0"; do
	reset_fake
	eval "set -- $args"
	run_case "common.postinst args [$args]" 1 "Need NAME, and VERSION defined
ARCH is optional" "" "$work/lib/common.postinst" "$@"
done
finish "unprivileged part"

isolate=$repo/scripts/isolate
if ((EUID == 0)) && [[ -x $isolate ]]; then
	"$isolate" bash "$0" --isolated "$work/iso" || fail "isolated common.postinst part"
else
	echo "not root or no scripts/isolate: common.postinst flows not tested"
fi
finish
echo "kernel hooks: all checks passed"
