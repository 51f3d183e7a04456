// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_scripts_test: exercises the hook scripts and PATCH directives */
#include <linux/module.h>

/* patch marker: none */
MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_scripts_test");
