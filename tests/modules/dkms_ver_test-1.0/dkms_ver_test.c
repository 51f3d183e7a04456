// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_ver_test: version 1.0 of a package with two versions (upgrade/downgrade) */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_ver_test");
