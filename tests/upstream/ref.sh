#!/bin/bash
# Shared helpers for the upstream-suite runner and the compat harness: fetch
# Debian's package of upstream DKMS 3.2.2 (cached under build/ref/) and
# install either it or our build as /usr/sbin/dkms. Everything that touches
# apt or system paths must run inside scripts/isolate.
#
# Source this file; it defines functions only.

REF_VERSION=${REF_VERSION:-3.2.2-1~deb13u1}
REF_SUITE=${REF_SUITE:-trixie}

ref_repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); }

ref_cache_dir() {
    local dir=${DKMS_REF_CACHE:-$(ref_repo_root)/build/ref}
    mkdir -p "$dir" && echo "$dir"
}

# Name of the cached .deb (epoch-free, ~ kept as apt names it).
ref_deb_path() { echo "$(ref_cache_dir)/dkms_${REF_VERSION}_all.deb"; }
ref_orig_path() { echo "$(ref_cache_dir)/dkms_${REF_VERSION%%-*}.orig.tar.gz"; }

# Inside isolate only: make the trixie archive known to apt (deb + deb-src).
ref_add_trixie_sources() {
    [[ ${REF_APT_READY:-} ]] && return 0
    cat >/etc/apt/sources.list.d/dkms-ref-trixie.sources <<SRC
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: ${REF_SUITE}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    # Keep bookworm preferred so nothing else gets upgraded by accident.
    cat >/etc/apt/preferences.d/dkms-ref-trixie <<PREF
Package: *
Pin: release n=${REF_SUITE}
Pin-Priority: 100
PREF
    # The throw-away root may lack a deb-src entry for bookworm; harmless.
    apt-get update -qq -o Acquire::Languages=none >/dev/null 2>&1 ||
        apt-get update -o Acquire::Languages=none >&2 || return 1
    REF_APT_READY=1
}

# Inside isolate only: make sure both reference artefacts are in the cache.
# Returns non-zero if they cannot be downloaded (callers turn that into a
# skip where appropriate).
ref_fetch() {
    local cache deb orig
    cache=$(ref_cache_dir) || return 1
    deb=$(ref_deb_path)
    orig=$(ref_orig_path)
    [[ -s $deb && -s $orig ]] && return 0
    ref_add_trixie_sources || return 1
    if [[ ! -s $deb ]]; then
        (cd "$cache" && apt-get download -qq "dkms=${REF_VERSION}" 2>&1 | grep -v unsandboxed) >&2
        [[ -s $deb ]] || return 1
    fi
    if [[ ! -s $orig ]]; then
        # apt may complain about the .dsc; the tarball still arrives.
        (cd "$cache" && apt-get source -qq --download-only "dkms=${REF_VERSION}" 2>&1 |
            grep -v -e unsandboxed -e '\.dsc' -e 'Failed to fetch some') >&2
        [[ -s $orig ]] || return 1
    fi
    rm -f "$cache"/*.dsc "$cache"/*.debian.tar.* 2>/dev/null || true
    return 0
}

# Inside isolate only: install upstream's dkms from the cached .deb. The
# package's maintainer scripts only clean up after upgrades from older
# versions, so unpacking it is a complete install, and much faster than
# dpkg -i (whose database work takes tens of seconds on a loaded machine).
ref_install_upstream() {
    ref_fetch || return 1
    dpkg-deb -x "$(ref_deb_path)" / || return 1
    [[ -x /usr/sbin/dkms ]]
}

# Inside isolate only: install our binary ($1, default build/dkms) the way
# Debian's package would (make install-debian, with the binary's own build
# directory and without rebuilding it), or with a minimal fallback while
# there is no install target.
ref_install_ours() {
    local bin=${1:-$(ref_repo_root)/build/dkms} root
    root=$(ref_repo_root)
    [[ -x $bin ]] || { echo "no dkms binary at $bin" >&2; return 1; }
    # No DESTDIR: like upstream's Makefile, ours refuses DESTDIR=/ ("Using a
    # DESTDIR as prefix for SBIN is no longer supported").
    if make -s -C "$root" -n -o all install-debian >/dev/null 2>&1; then
        make -s -C "$root" -o all install-debian BUILD_DIR="$(dirname "$bin")" >&2 || return 1
    else
        echo "ref_install_ours: no usable install-debian target; installing the binary only" >&2
        install -D -m755 "$bin" /usr/sbin/dkms
        mkdir -p /etc/dkms/framework.conf.d /var/lib/dkms
    fi
    # The binary may not be called dkms (install-debian takes BUILD_DIR/dkms).
    install -m755 "$bin" /usr/sbin/dkms
}
