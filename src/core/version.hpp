#pragma once

#include <string>

// Version comparisons used by upstream (SPEC §0.6).
namespace core {

// Upstream's VER(): zero-pad digit runs of length 1-2 to 3, delete spaces.
std::string ver_key(const std::string& version);
// Compares VER(a) and VER(b) bytewise: <0, 0, >0.
int ver_compare(const std::string& a, const std::string& b);
// GNU `sort -V` ordering (filevercmp semantics): <0, 0, >0. Follows the
// installed coreutils 9.1 and ends ties with sort's bytewise last-resort
// comparison, so 0 means equal strings.
int filevercmp(const std::string& a, const std::string& b);

} // namespace core
