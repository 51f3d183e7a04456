// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_missing_other: built, but dkms.conf expects a module named dkms_missing_test */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_missing_other");
