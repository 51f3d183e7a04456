// Actions whose implementation has not landed yet. Each says so plainly and
// fails, rather than pretending to work.
#include "actions/actions.hpp"
#include "core/exit.hpp"

namespace actions {

namespace {
int not_yet(core::Context& ctx, const char* action) {
  ctx.out.error({std::string("The action ") + action +
                 " is not implemented yet in this build of dkms."});
  return 1;
}
} // namespace

int action_match(core::Context& ctx) {
  return not_yet(ctx, "match");
}
int action_mktarball(core::Context& ctx) {
  return not_yet(ctx, "mktarball");
}
int action_ldtarball(core::Context& ctx) {
  return not_yet(ctx, "ldtarball");
}
void load_tarball(core::Context& ctx, Unit&) {
  core::die(ctx.out, 1, {"Loading tarballs is not implemented yet."});
}

} // namespace actions
