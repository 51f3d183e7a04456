// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_deps_test: build-depends on dkms_hello_test (ordering only, no symbols) */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_deps_test");
