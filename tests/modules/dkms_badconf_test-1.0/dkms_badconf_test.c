// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_badconf_test: builds, but its dkms.conf does not validate */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_badconf_test");
