#pragma once

#include <ctime>
#include <optional>
#include <string>

namespace util {

// What date(1) with no arguments prints for time t, newline included, when
// the time locale (LC_ALL, else LC_TIME, else LANG) is C or POSIX, whose
// format is fixed; nullopt for any other locale, whose format only date(1)
// itself knows. Follows TZ as date(1) does.
std::optional<std::string> c_locale_date(std::time_t t);

} // namespace util
