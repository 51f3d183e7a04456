#pragma once

#include "actions/common.hpp"

#include <string>
#include <vector>

// Locating module files of a pair in the dkms tree and the install tree.
namespace actions {

// dir/name.ko if it exists, else dir/name.ko<suffix> if it exists, else "".
std::string module_file(const std::string& dir, const std::string& name,
                        const std::string& suffix);
// Regular files named name.ko or name.ko<suffix> anywhere below IT/K, as
// upstream's find_module (answered from the module index).
std::vector<std::string> find_installed_module(const core::Context& ctx,
                                               const std::string& kernel,
                                               const std::string& name,
                                               const std::string& suffix);
// Where slot i of the installed pair really is (SPEC §7.6 step 3): the first
// of [install location, raw DEST_MODULE_LOCATION] holding a file whose
// version equals the active build's. Empty if none.
std::string actual_dest_location(const core::Context& ctx, const Unit& unit,
                                 const core::ModuleSlot& slot, const std::string& suffix);
// Feeds the installed files' paths to a weak-modules helper (SPEC §7.7).
void run_weak_modules(core::Context& ctx, const Unit& unit, const core::DkmsConf& conf,
                      const std::string& helper, const std::string& suffix);

} // namespace actions
