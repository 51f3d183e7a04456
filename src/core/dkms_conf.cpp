// Placeholder until the evaluator lands; replaced wholesale.
#include "core/dkms_conf.hpp"

#include "core/exit.hpp"

namespace core {

std::optional<DkmsConf> read_dkms_conf(Context&, const ConfRequest&, ConfCache*) {
  return std::nullopt;
}

DkmsConf require_dkms_conf(Context& ctx, const ConfRequest&, ConfCache*, const std::string&) {
  die(ctx.out, 8, {"not implemented"});
}

std::string effective_location(const Context&, const std::string& dest_location) {
  return dest_location;
}

std::map<std::string, std::string> read_framework(const Context&, const std::vector<std::string>&,
                                                  const std::string&) {
  return {};
}

} // namespace core
