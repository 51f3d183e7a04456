#include "../test_support.hpp"
#include "core/subprocess.hpp"
#include "util/date.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <optional>
#include <string>

namespace {

using test_support::ScopedEnv;

std::string date_tool(std::time_t t, const std::string& tz) {
  // Not "@" + std::to_string(t): GCC 12 at -O3 warns (-Wrestrict) about
  // its own inlined insert for a literal + temporary string.
  std::string at = "@";
  at += std::to_string(t);
  return core::run_capture({"env", "TZ=" + tz, "LC_ALL=C", "date", "-d", at}).output;
}

} // namespace

TEST(CLocaleDate, PrintsWhatDateDoes) {
  ScopedEnv lc_all("LC_ALL", "C");
  // Single- and double-digit days (date pads %e with a blank), a leap day,
  // summer and winter time, zones named by file, by rule and by offset.
  const std::time_t times[] = {0, 951782400, 1764394801, 1751328000, 4102444799};
  for (const char* tz :
       {"UTC0", "Europe/Berlin", ":America/New_York", "XYZ5", "Asia/Kolkata"}) {
    ScopedEnv zone("TZ", tz);
    for (std::time_t t : times) {
      auto ours = util::c_locale_date(t);
      ASSERT_TRUE(ours) << tz;
      EXPECT_EQ(*ours, date_tool(t, tz)) << tz << " " << t;
    }
  }
}

TEST(CLocaleDate, OnlyForTheCLocale) {
  ScopedEnv lc_all("LC_ALL", nullptr);
  ScopedEnv lc_time("LC_TIME", nullptr);
  {
    ScopedEnv lang("LANG", nullptr);
    EXPECT_TRUE(util::c_locale_date(0));
  }
  for (const char* c : {"C", "POSIX", "C.UTF-8", "C.utf8"}) {
    ScopedEnv lang("LANG", c);
    EXPECT_TRUE(util::c_locale_date(0)) << c;
  }
  {
    ScopedEnv lang("LANG", "de_DE.UTF-8");
    EXPECT_FALSE(util::c_locale_date(0));
    // LC_TIME is asked before LANG, LC_ALL before both.
    ScopedEnv time("LC_TIME", "C");
    EXPECT_TRUE(util::c_locale_date(0));
    ScopedEnv all("LC_ALL", "fr_FR.UTF-8");
    EXPECT_FALSE(util::c_locale_date(0));
  }
}
