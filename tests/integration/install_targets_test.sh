#!/bin/bash
# make install / install-debian / install-redhat / install-doc / uninstall
# (mk/install.mk) into scratch DESTDIRs: exact file lists and modes (SPEC
# §9.1, upstream 3.2.2 Makefile), path substitution, refused variables; and
# a syntax check of every shipped script.
#   install_targets_test.sh <path-to-dkms-binary>
set -u

binary=${1:?usage: $0 <path-to-dkms-binary>}
[[ -x $binary ]] || { echo "no dkms binary at $binary" >&2; exit 77; }
command -v make >/dev/null || { echo "make not installed" >&2; exit 77; }
repo=${DKMS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build_dir=$(cd "$(dirname "$binary")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# The generated copies go to a scratch BUILD_DIR holding (a link to) the
# binary, so the test never writes into the real build directory. "-o all"
# keeps make from re-running the CMake build the install targets depend on.
gen_build=$work/build
mkdir -p "$gen_build"
ln -s "$build_dir/dkms" "$gen_build/dkms"

run_make() {
	make -s -C "$repo" -o all BUILD_DIR="$gen_build" "$@" >"$work/make.out" 2>&1
}

# "mode path" lines of everything below $1, sorted by path.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%m %P\n' | sort -k2)
}

common_files="755 etc
755 etc/dkms
755 etc/dkms/framework.conf.d
644 etc/dkms/framework.conf
755 usr
755 usr/sbin
755 usr/sbin/dkms
755 usr/share
755 usr/share/bash-completion
755 usr/share/bash-completion/completions
644 usr/share/bash-completion/completions/dkms
755 usr/share/man
755 usr/share/man/man8
644 usr/share/man/man8/dkms.8
755 usr/share/zsh
755 usr/share/zsh/site-functions
644 usr/share/zsh/site-functions/_dkms
755 var
755 var/lib
755 var/lib/dkms"

debian_files="$common_files
755 etc/kernel
755 etc/kernel/postinst.d
755 etc/kernel/postinst.d/dkms
755 etc/kernel/header_postinst.d
755 etc/kernel/header_postinst.d/dkms
755 etc/kernel/preinst.d
755 etc/kernel/preinst.d/dkms
755 etc/kernel/prerm.d
755 etc/kernel/prerm.d/dkms
755 usr/lib
755 usr/lib/dkms
755 usr/lib/dkms/common.postinst
755 usr/lib/dkms/dkms_autoinstaller
755 usr/lib/kernel
755 usr/lib/kernel/install.d
755 usr/lib/kernel/install.d/40-dkms.install
755 usr/share/apport
755 usr/share/apport/package-hooks
755 usr/share/apport/package-hooks/dkms_packages.py"

redhat_files="$common_files
755 usr/lib
755 usr/lib/dkms
755 usr/lib/dkms/common.postinst
755 usr/lib/kernel
755 usr/lib/kernel/install.d
755 usr/lib/kernel/install.d/40-dkms.install
755 usr/lib/systemd
755 usr/lib/systemd/system
644 usr/lib/systemd/system/dkms.service"

expect_tree() { # expect_tree NAME DIR EXPECTED
	local got want
	got=$(listing "$2")
	want=$(sort -k2 <<<"$3")
	if [[ $got != "$want" ]]; then
		fail "$1: installed files differ from the expected set:"
		diff <(echo "$want") <(echo "$got") >&2
	fi
}

expect_grep() { # expect_grep FILE FIXED-STRING
	grep -qF -- "$2" "$1" || fail "$1 does not contain '$2'"
}

for target in install install-debian install-redhat; do
	dest=$work/$target
	if ! run_make "$target" DESTDIR="$dest"; then
		fail "make $target failed"
		cat "$work/make.out" >&2
		continue
	fi
	case $target in
		install) expect_tree "$target" "$dest" "$common_files" ;;
		install-debian) expect_tree "$target" "$dest" "$debian_files" ;;
		install-redhat) expect_tree "$target" "$dest" "$redhat_files" ;;
	esac
	cmp -s "$binary" "$dest/usr/sbin/dkms" || fail "$target: usr/sbin/dkms is not the built binary"
	left=$(find "$dest" -type f ! -path "$dest/usr/sbin/dkms" -exec grep -l '@[A-Z_]*@' {} +)
	[[ -z $left ]] || fail "$target: placeholders left in $left"
done

# Paths are substituted into the shipped files.
deb=$work/install-debian
expect_grep "$deb/etc/kernel/postinst.d/dkms" /usr/lib/dkms/dkms_autoinstaller
expect_grep "$deb/usr/lib/kernel/install.d/40-dkms.install" /etc/kernel/postinst.d/dkms
expect_grep "$deb/usr/lib/kernel/install.d/40-dkms.install" /etc/kernel/prerm.d/dkms
expect_grep "$deb/usr/lib/dkms/dkms_autoinstaller" '"/usr/sbin/dkms"'
expect_grep "$deb/usr/lib/dkms/common.postinst" '"/lib/modules"'
expect_grep "$deb/usr/share/man/man8/dkms.8" 'dkms-3.2.2'
cmp -s "$deb/etc/kernel/postinst.d/dkms" "$deb/etc/kernel/header_postinst.d/dkms" ||
	fail "postinst.d and header_postinst.d hooks differ"
rh=$work/install-redhat
expect_grep "$rh/usr/lib/systemd/system/dkms.service" 'ExecStart=/usr/sbin/dkms autoinstall --verbose --kernelver %v'
expect_grep "$rh/usr/lib/kernel/install.d/40-dkms.install" 'kernel_postinst --kernelver'

# Custom directories move the files and the paths inside them.
custom=$work/custom
if run_make install-debian DESTDIR="$custom" SBIN=/opt/sbin LIBDIR=/opt/lib/dkms \
	KCONF=/opt/kernel KINSTALL=/opt/install.d MODDIR=/opt/modules; then
	for f in opt/sbin/dkms opt/lib/dkms/dkms_autoinstaller opt/lib/dkms/common.postinst \
		opt/kernel/postinst.d/dkms opt/kernel/prerm.d/dkms opt/install.d/40-dkms.install; do
		[[ -x $custom/$f ]] || fail "custom dirs: $f not installed"
	done
	expect_grep "$custom/opt/kernel/postinst.d/dkms" /opt/lib/dkms/dkms_autoinstaller
	expect_grep "$custom/opt/lib/dkms/dkms_autoinstaller" '"/opt/sbin/dkms"'
	expect_grep "$custom/opt/lib/dkms/dkms_autoinstaller" '"/opt/modules"'
	expect_grep "$custom/opt/install.d/40-dkms.install" /opt/kernel/prerm.d/dkms
	[[ ! -e $custom/usr/sbin/dkms ]] || fail "custom dirs: binary also installed to usr/sbin"
else
	fail "make install-debian with custom directories failed"
	cat "$work/make.out" >&2
fi

# Refused settings: make fails with upstream's message. A check made by the
# target itself comes before any of its files are installed; install-debian
# and install-redhat run "install" (the common files) before their own
# checks, as upstream's do.
expect_refused() { # expect_refused clean|partial MESSAGE TARGET VAR=VALUE...
	local mode=$1 message=$2 dest=$work/refused
	shift 2
	rm -rf "$dest"
	if run_make "$@" DESTDIR="$dest"; then
		fail "make $* succeeded"
	else
		grep -qF -- "$message" "$work/make.out" || fail "make $*: no '$message' in: $(cat "$work/make.out")"
	fi
	if [[ $mode == clean ]]; then
		[[ ! -e $dest ]] || fail "make $* installed files before failing"
	else
		[[ -f $dest/usr/sbin/dkms && ! -e $dest/usr/lib/dkms ]] ||
			fail "make $*: expected only the common files"
	fi
}
expect_refused clean "Setting VAR is not supported" install VAR=/srv/var
expect_refused clean "Setting ETC is not supported" install ETC=/srv/etc
expect_refused clean "Setting BASHDIR is not supported" install BASHDIR=/srv/bash
expect_refused partial "Setting SHAREDIR is not supported" install-debian SHAREDIR=/srv/share
expect_refused clean "Setting DOCDIR is not supported" install-doc DOC=/srv/doc
expect_refused clean "Using a DESTDIR as prefix for SBIN is no longer supported" \
	install SBIN="$work/refused/usr/sbin"
expect_refused clean "Using a DESTDIR as prefix for LIBDIR is no longer supported" \
	install-debian LIBDIR="$work/refused/usr/lib/dkms"
expect_refused clean "Using a DESTDIR as prefix for KCONF is no longer supported" \
	install-debian KCONF="$work/refused/etc/kernel"
expect_refused partial "Using a DESTDIR as prefix for SYSTEMD is no longer supported" \
	install-redhat SYSTEMD="$work/refused/usr/lib/systemd/system"

# install-doc
if run_make install-doc DESTDIR="$work/doc"; then
	[[ -d $work/doc/usr/share/doc/dkms ]] || fail "install-doc: no usr/share/doc/dkms"
	for f in COPYING README.md; do
		if [[ -f $repo/$f ]]; then
			[[ $(stat -c %a "$work/doc/usr/share/doc/dkms/$f") == 644 ]] || fail "install-doc: $f missing or not 0644"
		fi
	done
else
	fail "make install-doc failed"
fi

# uninstall removes every file the install targets put there, and
# /var/lib/dkms; only (now empty) parent directories may remain.
for target in install-debian install-redhat; do
	dest=$work/$target
	run_make install-doc DESTDIR="$dest" || fail "make install-doc into $target tree failed"
	if run_make uninstall DESTDIR="$dest"; then
		left=$(cd "$dest" && find . -mindepth 1 ! -type d)
		[[ -z $left ]] || fail "uninstall after $target left: $left"
		[[ ! -e $dest/var/lib/dkms && ! -e $dest/etc/dkms/framework.conf.d && ! -e $dest/usr/share/doc/dkms ]] ||
			fail "uninstall after $target left dkms directories"
	else
		fail "make uninstall failed"
	fi
done

# Every shipped script parses in its shell; shellcheck when available.
for f in common.postinst dkms_autoinstaller kernel/postinst.d-dkms kernel/preinst.d-dkms \
	kernel/prerm.d-dkms kernel/kernel-install-debian; do
	[[ $(head -n1 "$repo/data/$f") == '#!/bin/sh' ]] || fail "data/$f is not a POSIX sh script"
	sh -n "$repo/data/$f" || fail "data/$f: sh -n failed"
	if command -v dash >/dev/null; then dash -n "$repo/data/$f" || fail "data/$f: dash -n failed"; fi
	if command -v shellcheck >/dev/null; then
		shellcheck -s sh "$repo/data/$f" || fail "data/$f: shellcheck"
	fi
done
bash -n "$repo/data/kernel/kernel-install-redhat" || fail "kernel-install-redhat: bash -n failed"
bash -n "$repo/data/completion/dkms.bash" || fail "completion/dkms.bash: bash -n failed"
if command -v shellcheck >/dev/null; then
	shellcheck "$repo/data/kernel/kernel-install-redhat" "$repo/data/completion/dkms.bash" ||
		fail "bash scripts: shellcheck"
fi
if command -v zsh >/dev/null; then
	zsh -n "$repo/data/completion/_dkms" || fail "completion/_dkms: zsh -n failed"
fi
if command -v python3 >/dev/null; then
	python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$repo/data/dkms_packages.py" ||
		fail "dkms_packages.py does not parse"
	out=$(python3 "$repo/data/dkms_packages.py" -m onlymodule 2>&1)
	rc=$?
	[[ $rc == 2 && $out == "ERROR (dkms apport): both -m and -v are required" ]] ||
		fail "apport hook without -v: rc=$rc output=$out"
fi
if command -v groff >/dev/null; then
	warnings=$(groff -man -Tutf8 -ww "$repo/data/dkms.8" 2>&1 >/dev/null)
	[[ -z $warnings ]] || fail "dkms.8: groff warnings: $warnings"
fi

if ((failures)); then
	echo "$failures install check(s) failed" >&2
	exit 1
fi
echo "install targets: all checks passed"
