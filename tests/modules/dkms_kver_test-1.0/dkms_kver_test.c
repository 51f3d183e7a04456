// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_kver_test: records what its dkms.conf computed for this kernel */
#include <linux/module.h>

MODULE_INFO(kver_branch, KVER_BRANCH);
MODULE_INFO(kver_major, KVER_MAJOR);
MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_kver_test");
