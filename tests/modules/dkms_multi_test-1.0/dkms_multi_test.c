// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_multi_test: first of two modules; installed as dkms_multi_renamed.ko */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_multi_test");
