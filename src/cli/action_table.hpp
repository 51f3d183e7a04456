#pragma once

#include <string_view>

// Every action dkms knows, listed once: X(name, post_transaction), where
// post_transaction says whether post_transaction runs after a successful
// run. The parser recognises the names (options.cpp) without referring to
// the handlers, so it builds on its own (the parsers fuzz target); the
// dispatcher (main.cpp) expands the list into actions::action_<name>.
#define DKMS_ACTIONS(X)                                                                  \
  X(add, false)                                                                          \
  X(build, false)                                                                        \
  X(install, true)                                                                       \
  X(uninstall, true)                                                                     \
  X(unbuild, true)                                                                       \
  X(remove, true)                                                                        \
  X(status, false)                                                                       \
  X(autoinstall, false)                                                                  \
  X(kernel_preinst, false)                                                               \
  X(kernel_postinst, false)                                                              \
  X(kernel_prerm, false)                                                                 \
  X(match, false)                                                                        \
  X(mktarball, false)                                                                    \
  X(ldtarball, false)                                                                    \
  X(generate_mok, false)

namespace cli {

#define DKMS_ACTION_NAME(name, post_transaction) #name,
inline constexpr std::string_view k_action_names[] = {DKMS_ACTIONS(DKMS_ACTION_NAME)};
#undef DKMS_ACTION_NAME

// Upstream matches the word against an anchored alternation of the names;
// a lookup gives the same answer without a regex.
constexpr bool is_action_name(std::string_view word) {
  for (std::string_view name : k_action_names) {
    if (name == word) {
      return true;
    }
  }
  return false;
}

} // namespace cli
