#pragma once

#include "core/context.hpp"

#include <string>

namespace core {

// Upstream's do_depmod for kernel K, run through the runner as
// "Running depmod" (SPEC §7.4). Returns the runner's status (always 0 in
// practice, as upstream's helper never fails).
int run_depmod(Context& ctx, const std::string& kernel);

} // namespace core
