// SPDX-License-Identifier: GPL-2.0-or-later
/* dummy: replaces the kernel's own dummy module */
#include <linux/module.h>

MODULE_VERSION("9.9");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dummy");
