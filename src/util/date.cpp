#include "util/date.hpp"

#include <cstdlib>
#include <string_view>

namespace util {

namespace {

std::string_view time_locale() {
  for (const char* name : {"LC_ALL", "LC_TIME", "LANG"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
      return value;
    }
  }
  return {};
}

} // namespace

std::optional<std::string> c_locale_date(std::time_t t) {
  std::string_view locale = time_locale();
  if (!locale.empty() && locale != "C" && locale != "POSIX" && locale != "C.UTF-8" &&
      locale != "C.utf8") {
    return std::nullopt;
  }
  // localtime_r alone may keep a TZ read earlier.
  tzset();
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) {
    return std::nullopt;
  }
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Z %Y\n", &tm);
  if (n == 0) {
    return std::nullopt;
  }
  return std::string(buf, n);
}

} // namespace util
