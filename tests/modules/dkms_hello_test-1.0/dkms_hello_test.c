// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_hello_test: the plain one-module package */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_hello_test");
