// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_crlf_test: its dkms.conf has CRLF line endings */
#include <linux/module.h>

MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dkms test module: dkms_crlf_test");
