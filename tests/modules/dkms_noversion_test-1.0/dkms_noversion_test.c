// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_noversion_test: a module without MODULE_VERSION */
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_noversion_test");
