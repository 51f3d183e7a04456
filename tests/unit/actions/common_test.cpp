#include "actions/common.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace {

// Upstream tests the action with a regular expression; the substring
// check must agree with it (util::ere_search is regcomp/regexec).
TEST(NamesKernelHook, AgreesWithUpstreamsRegex) {
  for (const char* action :
       {"kernel_preinst", "kernel_postinst", "kernel_prerm", "install", "status", "",
        "kernel_", "kernel_pre", "kernel_postinstall", "xkernel_prermx", "kernel-prerm",
        "Kernel_prerm", "kernel_preinskernel_prerm", "kernel_post inst"}) {
    EXPECT_EQ(actions::names_kernel_hook(action),
              util::ere_search("kernel_(preinst|postinst|prerm)", action))
        << action;
  }
  EXPECT_TRUE(actions::names_kernel_hook("kernel_postinst"));
  EXPECT_FALSE(actions::names_kernel_hook("autoinstall"));
}

} // namespace
