#!/bin/bash
# End to end on Debian, in a throw-away root (scripts/isolate: /etc, /usr,
# /var and so /lib/modules are copy-on-write overlays):
#   1. an empty package named "dkms" 3.2.2-1 satisfies the real *-dkms
#      packages' "Depends: dkms" (it owns no files);
#   2. our dkms and its integration files go in with `make install-debian`;
#   3. `dpkg -i` of a real Debian 12 *-dkms package (acpi-call-dkms, else
#      v4l2loopback-dkms): its postinst runs our common.postinst, which must
#      add, build and install the module for the newest kernel with headers;
#   4. `dpkg -i` of a linux-headers package for a kernel not installed yet:
#      its postinst runs /etc/kernel/header_postinst.d/dkms, so our
#      autoinstall must build and install the module for that kernel;
#   5. `dpkg -r` of the package: its prerm runs `dkms remove --all`, and
#      nothing of the module may be left.
#
#   distro_e2e_test.sh <path-to-dkms-binary>
#
# Skipped (77) when not root, without scripts/isolate, dpkg or apt, or when
# the packages cannot be downloaded. Bounded to DKMS_E2E_TIMEOUT seconds
# (default 300).
set -u

binary=${1:?usage: $0 <path-to-dkms-binary>}
self=$(readlink -f "$0")
repo=${DKMS_SOURCE_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}

skip() {
	echo "SKIP: $*"
	exit 77
}

step() {
	echo
	echo "=== $* ==="
}

# --------------------------------------------------------------------------
# Inside the isolated root: bash distro_e2e_test.sh --inner BINARY WORK
if [[ ${1:-} == --inner ]]; then
	binary=$2
	work=$3
	failures=0
	fail() {
		echo "FAIL: $*" >&2
		failures=$((failures + 1))
	}
	export DEBIAN_FRONTEND=noninteractive LC_ALL=C
	# shellcheck disable=SC1091 # written by the outer part
	. "$work/packages.sh" # pkg_deb, pkg_name, mod_name, mod_version, ko, headers_debs, new_kernel

	# Kernels with headers now, oldest first.
	kernels=()
	for inc in /lib/modules/*/build/include; do
		[[ -d $inc ]] || continue
		inc=${inc%/build/include}
		kernels+=("${inc##*/}")
	done
	mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" | sort -V)
	newest=${kernels[${#kernels[@]} - 1]}
	echo "kernels with headers: ${kernels[*]}; running kernel: $(uname -r)"

	# installed_for K: the module is "installed" for K and its file exists.
	installed_for() {
		local k=$1 st
		st=$(dkms status -m "$mod_name" -v "$mod_version" -k "$k" 2>&1)
		echo "dkms status -k $k: $st"
		[[ $st == "$mod_name/$mod_version, $k, "*": installed"* ]] ||
			fail "dkms status does not say installed for $k"
		compgen -G "/lib/modules/$k/updates/dkms/$ko.ko*" >/dev/null ||
			fail "no $ko.ko* under /lib/modules/$k/updates/dkms"
	}

	step "1. empty package 'dkms' 3.2.2-1 (satisfies Depends: dkms)"
	mkdir -p "$work/fake/DEBIAN"
	cat >"$work/fake/DEBIAN/control" <<-'EOF'
		Package: dkms
		Version: 3.2.2-1
		Architecture: all
		Maintainer: dkms e2e test <root@localhost>
		Description: placeholder for the C++ dkms under test
		 Owns no files; only satisfies Depends: dkms.
	EOF
	dpkg-deb --root-owner-group --build "$work/fake" "$work/dkms_3.2.2-1_all.deb" >/dev/null ||
		fail "dpkg-deb --build"
	dpkg -i "$work/dkms_3.2.2-1_all.deb" || fail "dpkg -i of the empty dkms package"
	[[ $(dpkg-query -W -f '${Status} ${Version}' dkms 2>/dev/null) == "install ok installed 3.2.2-1" ]] ||
		fail "dkms 3.2.2-1 not registered with dpkg"

	step "2. make install-debian (our dkms and data/ files)"
	# DESTDIR=/ is refused like upstream's Makefile does ("Using a DESTDIR as
	# prefix for SBIN is no longer supported"), so install with no DESTDIR.
	# BUILD_DIR holds a link to the binary, so generated files stay in $work.
	mkdir -p "$work/build"
	ln -s "$binary" "$work/build/dkms"
	make -s -C "$repo" -o all install-debian BUILD_DIR="$work/build" ||
		fail "make install-debian"
	cmp -s "$binary" /usr/sbin/dkms || fail "/usr/sbin/dkms is not the binary under test"
	for f in /usr/lib/dkms/common.postinst /usr/lib/dkms/dkms_autoinstaller \
		/etc/kernel/header_postinst.d/dkms /etc/kernel/postinst.d/dkms \
		/etc/kernel/prerm.d/dkms /etc/dkms/framework.conf; do
		[[ -e $f ]] || fail "$f not installed"
	done
	hash -r
	echo "dkms on PATH: $(command -v dkms) ($(dkms --version))"

	step "3. dpkg -i $pkg_name (postinst -> common.postinst -> our dkms)"
	if ! dpkg -i "$pkg_deb"; then
		fail "dpkg -i $pkg_name failed"
		find "/var/lib/dkms/$mod_name" -name make.log -exec tail -n 30 {} + 2>/dev/null
	fi
	echo "--- dkms status"
	dkms status
	installed_for "$newest"

	step "4. headers of a new kernel ($new_kernel): header_postinst.d hook -> autoinstall"
	if [[ -n $new_kernel ]]; then
		# apt-get install would also pull the linux-image package, whose
		# postinst writes to the real /boot (not overlaid); only the headers
		# are installed (--force-depends: the image is missing).
		[[ ! -e /lib/modules/$new_kernel ]] || fail "$new_kernel already present"
		dpkg -i --force-depends "${headers_debs[@]}" ||
			fail "dpkg -i of the linux-headers-$new_kernel packages"
		target=$new_kernel
	else
		# No headers package could be fetched: undo the build for the oldest
		# kernel and call the hook as the headers' postinst would.
		target=${kernels[0]}
		echo "(no new headers package; calling the hook for $target after unbuild)"
		dkms unbuild -m "$mod_name" -v "$mod_version" -k "$target" >/dev/null ||
			fail "dkms unbuild for $target"
		/etc/kernel/header_postinst.d/dkms "$target" || fail "header_postinst.d hook for $target"
	fi
	echo "--- dkms status"
	dkms status
	installed_for "$target"

	step "5. dpkg -r $pkg_name (prerm -> dkms remove --all)"
	dpkg -r "$pkg_name" || fail "dpkg -r $pkg_name"
	st=$(dkms status 2>&1)
	[[ -z $st ]] || fail "dkms status not empty after removal: $st"
	[[ ! -e /var/lib/dkms/$mod_name ]] || fail "/var/lib/dkms/$mod_name left behind"
	left=$(find /lib/modules/ -path '*/updates/dkms/*' -name "$ko.ko*" 2>/dev/null)
	[[ -z $left ]] || fail "module files left: $left"
	[[ ! -e /usr/src/$mod_name-$mod_version ]] || fail "/usr/src/$mod_name-$mod_version left behind"

	echo
	if ((failures)); then
		echo "distro_e2e: $failures failure(s)"
		exit 1
	fi
	echo "distro_e2e: all steps passed"
	exit 0
fi

# --------------------------------------------------------------------------
# Outside: check prerequisites, download, then run the steps in isolation.
((EUID == 0)) || skip "needs root"
[[ -x $binary ]] || skip "no dkms binary at $binary"
binary=$(readlink -f "$binary")
[[ -x $repo/scripts/isolate ]] || skip "no scripts/isolate"
for tool in dpkg dpkg-deb apt-get make unshare timeout; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

work=$(mktemp -d /tmp/dkms-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs"
# _apt cannot write into a root-only mktemp directory.
chmod 755 "$work" "$work/debs"

step "0. download (acpi-call-dkms, else v4l2loopback-dkms; new linux-headers)"
cd "$work/debs" || exit 1
pkg_name=
for candidate in acpi-call-dkms v4l2loopback-dkms; do
	if apt-get download -q "$candidate" >/dev/null 2>&1; then
		pkg_name=$candidate
		break
	fi
done
[[ -n $pkg_name ]] || skip "cannot download acpi-call-dkms or v4l2loopback-dkms"
pkg_deb=$(readlink -f "$pkg_name"_*.deb)
# The module source in the package: NAME-VERSION under /usr/src.
src_dir=$(dpkg-deb -c "$pkg_deb" | awk '$6 ~ /^\.\/usr\/src\/[^/]+\/dkms\.conf$/ {print $6}')
src_dir=${src_dir#./usr/src/}
src_dir=${src_dir%/dkms.conf}
mod_name=${src_dir%-*}
mod_version=${src_dir##*-}
[[ -n $mod_name && -n $mod_version ]] || skip "no /usr/src/NAME-VERSION/dkms.conf in $pkg_name"
# The built module's name, from BUILT_MODULE_NAME[0] (else PACKAGE_NAME).
dpkg-deb --fsys-tarfile "$pkg_deb" | tar -xOf - "./usr/src/$src_dir/dkms.conf" >"$work/pkg-dkms.conf"
ko=$(bash -c 'PACKAGE_NAME=; BUILT_MODULE_NAME=(); . "$1" >/dev/null 2>&1
	echo "${BUILT_MODULE_NAME[0]:-$PACKAGE_NAME}"' x "$work/pkg-dkms.conf")
echo "$pkg_name: module $mod_name/$mod_version, builds $ko.ko"

# The newest linux-headers-*-amd64 (same flavour as an installed one) for a
# kernel that has no /lib/modules directory yet, with its -common and kbuild.
new_kernel=
headers_debs=()
flavour=$(for d in /lib/modules/*/build/include; do
	[[ -d $d ]] && d=${d%/build/include} && echo "${d##*/}"
done | sort -V | tail -n1)
flavour=${flavour##*-}
if [[ -n $flavour ]]; then
	while read -r name; do
		k=${name#linux-headers-}
		[[ -e /lib/modules/$k ]] && continue
		common=$(apt-cache show "$name" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
			tr ',' '\n' | grep -o 'linux-headers-[^ ]*-common' | head -n1)
		kbuild=$(apt-cache show "$name" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
			tr ',' '\n' | grep -o 'linux-kbuild-[^ ]*' | head -n1)
		[[ -n $common && -n $kbuild ]] || continue
		if apt-get download -q "$name" "$common" "$kbuild" >/dev/null 2>&1; then
			new_kernel=$k
			for p in "$name" "$common" "$kbuild"; do
				headers_debs+=("$(readlink -f "$p"_*.deb)")
			done
		fi
		break
	done < <(apt-cache pkgnames linux-headers- 2>/dev/null |
		grep -E "^linux-headers-[0-9][0-9.]*(-[0-9]+|\+deb[0-9]+)-$flavour\$" | sort -rV)
fi
[[ -n $new_kernel ]] && echo "new kernel headers: $new_kernel (${#headers_debs[@]} packages)"
cd / || exit 1

{
	printf 'pkg_deb=%q pkg_name=%q mod_name=%q mod_version=%q ko=%q new_kernel=%q\n' \
		"$pkg_deb" "$pkg_name" "$mod_name" "$mod_version" "$ko" "$new_kernel"
	printf 'headers_debs=('
	printf '%q ' "${headers_debs[@]}"
	printf ')\n'
} >"$work/packages.sh"

rc=0
timeout --kill-after=10 "${DKMS_E2E_TIMEOUT:-300}" \
	"$repo/scripts/isolate" bash "$self" --inner "$binary" "$work" || rc=$?
((rc == 124)) && echo "FAIL: timed out after ${DKMS_E2E_TIMEOUT:-300}s" >&2
exit "$rc"
