#pragma once

#include <string>
#include <vector>

namespace core {

class Output;

// Thrown to end the current unit of work with an exit status. Upstream runs
// each per-kernel build/install in a subshell; catching Exit at that
// boundary reproduces "a fatal error ends only this kernel's unit".
struct Exit {
  int code;
};

// Upstream's die(): print an error block, then end the unit with code.
[[noreturn]] void die(Output& out, int code, const std::vector<std::string>& lines);
// Upstream's diewarn(): a warning block, then end the unit with code.
[[noreturn]] void diewarn(Output& out, int code, const std::vector<std::string>& lines);

} // namespace core
