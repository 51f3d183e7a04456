#include "core/version.hpp"

#include <string_view>

namespace core {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}

// Length of s without its file suffix: the longest tail matching
// (\.[A-Za-z~][A-Za-z0-9~]*)*$. coreutils 9.1 (Debian 12) lets the suffix
// start at position 0, so ".Z" is all suffix; we match the installed sort.
size_t prefix_length(std::string_view s) {
  for (size_t i = 0;; ++i) {
    size_t prefix = i;
    while (i + 1 < s.size() && s[i] == '.' && (is_alpha(s[i + 1]) || s[i + 1] == '~')) {
      for (i += 2; i < s.size() && (is_alnum(s[i]) || s[i] == '~'); ++i) {
      }
    }
    if (i >= s.size()) {
      return prefix;
    }
  }
}

// Weight of a non-digit position: end of string sorts after '~' but before
// everything else, letters before other characters.
int weight(std::string_view s, size_t pos) {
  if (pos == s.size()) {
    return -1;
  }
  unsigned char c = static_cast<unsigned char>(s[pos]);
  if (is_digit(static_cast<char>(c))) {
    return 0;
  }
  if (is_alpha(static_cast<char>(c))) {
    return c;
  }
  if (c == '~') {
    return -2;
  }
  return c + 256;
}

// Debian-policy style comparison of alternating non-digit / digit runs.
int compare_runs(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int wa = weight(a, i);
      int wb = weight(b, j);
      if (wa != wb) {
        return wa - wb;
      }
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') {
      ++i;
    }
    while (j < b.size() && b[j] == '0') {
      ++j;
    }
    int first_diff = 0;
    while (i < a.size() && j < b.size() && is_digit(a[i]) && is_digit(b[j])) {
      if (first_diff == 0) {
        first_diff = a[i] - b[j];
      }
      ++i;
      ++j;
    }
    if (i < a.size() && is_digit(a[i])) {
      return 1;
    }
    if (j < b.size() && is_digit(b[j])) {
      return -1;
    }
    if (first_diff != 0) {
      return first_diff;
    }
  }
  return 0;
}

int sign(int v) {
  return (v > 0) - (v < 0);
}

int version_order(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) {
    return static_cast<int>(!a.empty()) - static_cast<int>(!b.empty());
  }
  // "." first, then "..", then other dot names, then the rest.
  if (a[0] == '.' || b[0] == '.') {
    if (a[0] != b[0]) {
      return a[0] == '.' ? -1 : 1;
    }
    for (std::string_view special : {std::string_view("."), std::string_view("..")}) {
      bool sa = a == special;
      bool sb = b == special;
      if (sa || sb) {
        return static_cast<int>(sb) - static_cast<int>(sa);
      }
    }
  }
  size_t pa = prefix_length(a);
  size_t pb = prefix_length(b);
  int result = compare_runs(a.substr(0, pa), b.substr(0, pb));
  if (result != 0 || (pa == a.size() && pb == b.size())) {
    return result;
  }
  return compare_runs(a, b);
}

} // namespace

std::string ver_key(const std::string& version) {
  std::string key;
  size_t i = 0;
  while (i < version.size()) {
    size_t j = i;
    bool digits = is_digit(version[i]);
    while (j < version.size() && is_digit(version[j]) == digits) {
      ++j;
    }
    if (digits) {
      size_t len = j - i;
      if (len < 3) {
        key.append(3 - len, '0');
      }
      key.append(version, i, len);
    } else {
      for (size_t k = i; k < j; ++k) {
        if (version[k] != ' ') {
          key += version[k];
        }
      }
    }
    i = j;
  }
  return key;
}

int ver_compare(const std::string& a, const std::string& b) {
  return sign(ver_key(a).compare(ver_key(b)));
}

int filevercmp(const std::string& a, const std::string& b) {
  int result = version_order(a, b);
  if (result != 0) {
    return sign(result);
  }
  // sort(1)'s last-resort comparison (no -s): whole lines, bytewise in C.
  return sign(a.compare(b));
}

} // namespace core
