// dkms generate_mok (SPEC §2.13): create the MOK signing key pair.
#include "actions/actions.hpp"
#include "core/sign.hpp"

namespace actions {

int action_generate_mok(core::Context& ctx) {
  std::string kernel = ctx.targets.empty() ? ctx.current_kernel : ctx.targets[0].kernel;
  core::SigningSetup setup = core::read_signing_config(ctx, kernel);
  return core::prepare_mok(ctx, setup) ? 0 : 1;
}

} // namespace actions
