// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_multi_sub: second module, built in sub/ and never stripped */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_multi_sub");
