// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hello_dkms - the smallest useful out-of-tree module, packaged for DKMS.
 *
 * It does nothing but announce itself in the kernel log when it is loaded
 * and unloaded, which is enough to show that DKMS built it for the right
 * kernel (modinfo prints the version below, dmesg prints the lines).
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init hello_dkms_init(void)
{
	pr_info("hello_dkms: loaded\n");
	return 0;
}

static void __exit hello_dkms_exit(void)
{
	pr_info("hello_dkms: unloaded\n");
}

module_init(hello_dkms_init);
module_exit(hello_dkms_exit);

/* Keep MODULE_VERSION in step with PACKAGE_VERSION in dkms.conf: dkms
 * compares it with modules already present before installing. */
MODULE_VERSION("1.0");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Example DKMS module that logs a line on load and unload");
