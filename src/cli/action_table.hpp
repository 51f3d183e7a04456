#pragma once

#include "actions/actions.hpp"

#include <string_view>

// Every action dkms knows, in one table: the parser recognises the words
// (options.cpp) and the dispatcher runs the handlers (main.cpp).
namespace cli {

struct ActionEntry {
  std::string_view name;
  int (*handler)(core::Context&);
  bool post_transaction; // run post_transaction after a successful run
};

inline constexpr ActionEntry k_actions[] = {
    {"add", actions::action_add, false},
    {"build", actions::action_build, false},
    {"install", actions::action_install, true},
    {"uninstall", actions::action_uninstall, true},
    {"unbuild", actions::action_unbuild, true},
    {"remove", actions::action_remove, true},
    {"status", actions::action_status, false},
    {"autoinstall", actions::action_autoinstall, false},
    {"kernel_preinst", actions::action_kernel_preinst, false},
    {"kernel_postinst", actions::action_kernel_postinst, false},
    {"kernel_prerm", actions::action_kernel_prerm, false},
    {"match", actions::action_match, false},
    {"mktarball", actions::action_mktarball, false},
    {"ldtarball", actions::action_ldtarball, false},
    {"generate_mok", actions::action_generate_mok, false},
};

// The entry for an action word, or nullptr. Upstream matches the word
// against an anchored alternation of the names; a lookup gives the same
// answer without a regex.
inline const ActionEntry* find_action(std::string_view word) {
  for (const auto& entry : k_actions) {
    if (entry.name == word) {
      return &entry;
    }
  }
  return nullptr;
}

} // namespace cli
