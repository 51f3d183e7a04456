# Installation targets, included by the top-level Makefile.
#
#   make install          common files: binary, framework.conf, completions,
#                         man page, /var/lib/dkms
#   make install-debian   install + kernel hooks, autoinstaller, apport hook,
#                         common.postinst
#   make install-redhat   install + systemd unit, kernel-install plugin,
#                         common.postinst
#   make install-doc      documentation
#   make uninstall        removes everything the targets above install
#
# Same variables, defaults and file set as upstream DKMS 3.2.2. DESTDIR is a
# staging root; the directory variables are the paths on the final system
# and must not include DESTDIR.

BUILD_DIR ?= build

SBIN = /usr/sbin
LIBDIR = /usr/lib/dkms
MODDIR = /lib/modules
KCONF = /etc/kernel
KINSTALL = /usr/lib/kernel/install.d
SYSTEMD = /usr/lib/systemd/system

DKMS_RELEASE_STRING = dkms-3.2.2
DKMS_RELEASE_DATE = 12 Sep 2025

# The data/ files carry @NAME@ placeholders for the configured paths; the
# copies with real paths are generated under the build directory, afresh on
# every run because the variables may differ from one invocation to the next.
DKMS_GEN_DIR = $(BUILD_DIR)/install-data
DKMS_GEN_FILES = framework.conf dkms.8 dkms.service dkms_autoinstaller \
	common.postinst dkms_packages.py completion/dkms.bash completion/_dkms \
	kernel/postinst.d-dkms kernel/preinst.d-dkms kernel/prerm.d-dkms \
	kernel/kernel-install-debian kernel/kernel-install-redhat
DKMS_GEN = $(addprefix $(DKMS_GEN_DIR)/,$(DKMS_GEN_FILES))

DKMS_SUBSTITUTIONS = \
	-e 's,@RELEASE_STRING@,$(DKMS_RELEASE_STRING),g' \
	-e 's,@RELEASE_DATE@,$(DKMS_RELEASE_DATE),g' \
	-e 's,@SBINDIR@,$(SBIN),g' \
	-e 's,@KCONFDIR@,$(KCONF),g' \
	-e 's,@MODDIR@,$(MODDIR),g' \
	-e 's,@LIBDIR@,$(LIBDIR),g'

$(DKMS_GEN_DIR)/%: data/% dkms-install-force
	@mkdir -p $(@D)
	sed $(DKMS_SUBSTITUTIONS) $< >$@

# Upstream refuses variables it used to honour (and DESTDIR folded into the
# path variables) rather than silently installing somewhere unexpected.
dkms_refuse = $(if $(strip $($(1))),$(error Setting $(2) is not supported))
dkms_refuse_prefix = $(if $(DESTDIR),$(if $(filter $(DESTDIR)%,$($(1))),$(error Using a DESTDIR as prefix for $(1) is no longer supported)))

DKMS_DOC_FILES = $(wildcard COPYING README.md)

.PHONY: install install-debian install-redhat install-doc uninstall dkms-install-force

dkms-install-force:

install: all $(DKMS_GEN)
	$(call dkms_refuse,VAR,VAR)
	$(call dkms_refuse_prefix,SBIN)
	$(call dkms_refuse_prefix,LIBDIR)
	$(call dkms_refuse_prefix,KCONF)
	$(call dkms_refuse,ETC,ETC)
	$(call dkms_refuse,BASHDIR,BASHDIR)
	install -d -m 0755 $(DESTDIR)/var/lib/dkms
	install -D -m 0755 $(BUILD_DIR)/dkms $(DESTDIR)$(SBIN)/dkms
	install -D -m 0644 $(DKMS_GEN_DIR)/framework.conf $(DESTDIR)/etc/dkms/framework.conf
	install -d -m 0755 $(DESTDIR)/etc/dkms/framework.conf.d
	install -D -m 0644 $(DKMS_GEN_DIR)/completion/dkms.bash $(DESTDIR)/usr/share/bash-completion/completions/dkms
	install -D -m 0644 $(DKMS_GEN_DIR)/completion/_dkms $(DESTDIR)/usr/share/zsh/site-functions/_dkms
	install -D -m 0644 $(DKMS_GEN_DIR)/dkms.8 $(DESTDIR)/usr/share/man/man8/dkms.8

install-redhat: install
	$(call dkms_refuse_prefix,SYSTEMD)
	install -D -m 0644 $(DKMS_GEN_DIR)/dkms.service $(DESTDIR)$(SYSTEMD)/dkms.service
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/kernel-install-redhat $(DESTDIR)$(KINSTALL)/40-dkms.install
	install -D -m 0755 $(DKMS_GEN_DIR)/common.postinst $(DESTDIR)$(LIBDIR)/common.postinst

install-debian: install
	$(call dkms_refuse,SHAREDIR,SHAREDIR)
	install -D -m 0755 $(DKMS_GEN_DIR)/dkms_autoinstaller $(DESTDIR)$(LIBDIR)/dkms_autoinstaller
	install -D -m 0755 $(DKMS_GEN_DIR)/dkms_packages.py $(DESTDIR)/usr/share/apport/package-hooks/dkms_packages.py
	install -D -m 0755 $(DKMS_GEN_DIR)/common.postinst $(DESTDIR)$(LIBDIR)/common.postinst
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/kernel-install-debian $(DESTDIR)$(KINSTALL)/40-dkms.install
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/postinst.d-dkms $(DESTDIR)$(KCONF)/postinst.d/dkms
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/postinst.d-dkms $(DESTDIR)$(KCONF)/header_postinst.d/dkms
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/preinst.d-dkms $(DESTDIR)$(KCONF)/preinst.d/dkms
	install -D -m 0755 $(DKMS_GEN_DIR)/kernel/prerm.d-dkms $(DESTDIR)$(KCONF)/prerm.d/dkms

install-doc:
	$(call dkms_refuse,DOC,DOCDIR)
	install -d -m 0755 $(DESTDIR)/usr/share/doc/dkms
	$(if $(DKMS_DOC_FILES),install -m 0644 $(DKMS_DOC_FILES) $(DESTDIR)/usr/share/doc/dkms)

uninstall:
	$(call dkms_refuse,VAR,VAR)
	$(call dkms_refuse,ETC,ETC)
	$(call dkms_refuse,BASHDIR,BASHDIR)
	$(call dkms_refuse,SHAREDIR,SHAREDIR)
	$(call dkms_refuse,DOC,DOCDIR)
	rm -f $(DESTDIR)$(SBIN)/dkms
	rm -f $(DESTDIR)/etc/dkms/framework.conf
	rm -rf $(DESTDIR)/etc/dkms/framework.conf.d
	rm -f $(DESTDIR)/usr/share/bash-completion/completions/dkms
	rm -f $(DESTDIR)/usr/share/zsh/site-functions/_dkms
	rm -f $(DESTDIR)/usr/share/man/man8/dkms.8
	rm -f $(DESTDIR)$(SYSTEMD)/dkms.service
	rm -f $(DESTDIR)$(KINSTALL)/40-dkms.install
	rm -f $(DESTDIR)$(LIBDIR)/common.postinst
	rm -f $(DESTDIR)$(LIBDIR)/dkms_autoinstaller
	rm -f $(DESTDIR)/usr/share/apport/package-hooks/dkms_packages.py
	rm -f $(DESTDIR)$(KCONF)/postinst.d/dkms
	rm -f $(DESTDIR)$(KCONF)/header_postinst.d/dkms
	rm -f $(DESTDIR)$(KCONF)/preinst.d/dkms
	rm -f $(DESTDIR)$(KCONF)/prerm.d/dkms
	rm -rf $(DESTDIR)/usr/share/doc/dkms
	rm -rf $(DESTDIR)/var/lib/dkms
