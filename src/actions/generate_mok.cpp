// dkms generate_mok (SPEC §2.13): create the MOK signing key pair.
#include "actions/actions.hpp"
#include "core/sign.hpp"

namespace actions {

int action_generate_mok(core::Context& ctx) {
  core::SigningSetup setup;
  std::string kernel = ctx.targets.empty() ? ctx.current_kernel : ctx.targets[0].kernel;
  auto vars = core::read_framework(
      ctx, {"sign_file", "mok_signing_key", "mok_certificate"}, kernel);
  auto pick = [&](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
  setup.key = pick("mok_signing_key");
  setup.cert = pick("mok_certificate");
  return core::prepare_mok(ctx, setup) ? 0 : 1;
}

} // namespace actions
