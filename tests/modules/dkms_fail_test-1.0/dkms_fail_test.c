// SPDX-License-Identifier: GPL-2.0-or-later
/* dkms_fail_test: never compiles, so make fails and dkms keeps make.log */
#include <linux/module.h>

#error "dkms_fail_test: deliberate build failure"

MODULE_LICENSE("GPL");
