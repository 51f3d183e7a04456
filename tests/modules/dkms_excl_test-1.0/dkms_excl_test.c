// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_excl_test: builds, but dkms.conf excludes every kernel */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_excl_test");
