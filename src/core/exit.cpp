#include "core/exit.hpp"

#include "core/output.hpp"

namespace core {

void die(Output& out, int code, const std::vector<std::string>& lines) {
  out.error(lines);
  throw Exit{code};
}

void diewarn(Output& out, int code, const std::vector<std::string>& lines) {
  out.warning(lines);
  throw Exit{code};
}

} // namespace core
