// dkms match (SPEC §2.10): give kernel K the modules installed on a
// template kernel. Upstream 3.2.2 still parses the pre-3.0 status format
// and cannot work (SPEC §12 quirk 9); this implements what it is meant to
// do, reading module and version from the status enumeration.
#include "actions/actions.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"

namespace actions {

using core::die;

int action_match(core::Context& ctx) {
  check_root(ctx);
  have_one_kernel(ctx, "match");
  const core::KernelArch target = ctx.targets.at(0);
  const std::string& templ = ctx.opts.template_kernel;
  if (templ.empty()) {
    die(ctx.out, 1,
        {"Invalid number of parameters passed.",
         "Usage: match --templatekernel=<kernel-version> -k <kernel-version>",
         "   or: match --templatekernel=<kernel-version> -k <kernel-version> <module>"});
  }
  if (templ == target.kernel) {
    die(ctx.out, 2,
        {"The templatekernel and the specified kernel version are the same."});
  }
  std::vector<core::StatusEntry> wanted;
  for (const auto& e : core::module_status(ctx, {}, {}, templ, target.arch)) {
    if (e.state == core::State::installed) {
      wanted.push_back(e);
    }
  }
  const std::string& module = ctx.opts.module;
  if (!module.empty()) {
    if (!util::is_dir(core::module_dir(ctx, module) + "/")) {
      die(ctx.out, 3, {"The module: " + module + " is not located in the DKMS tree."});
    }
    std::erase_if(wanted, [&](const core::StatusEntry& e) { return e.module != module; });
  }
  ctx.out.line("");
  ctx.out.line("Matching modules in kernel: " + target.kernel + " (" + target.arch + ")");
  ctx.out.line("to the configuration of kernel: " + templ + " (" + target.arch + ")");
  if (wanted.empty()) {
    ctx.out.line("");
    ctx.out.line("There is nothing to be done for this match.");
    return 0;
  }
  // Upstream's prepare_kernel: only the header check, once, fatal for the
  // whole run; signing is prepared by each build.
  Unit probe = make_unit(ctx, target);
  int status = 0;
  if (!core::kernel_headers_present(ctx, target.kernel)) {
    prepare_kernel_and_signing(ctx, probe); // dies with upstream's message
  }
  for (const auto& e : wanted) {
    ctx.out.line("Module:  " + e.module);
    ctx.out.line("Version: " + e.version);
    // A broken pair gets upstream's error block, and the loop goes on.
    if (run_unit([&] { die_if_broken(ctx, e.module, e.version); }) != 0) {
      status = 0;
      continue;
    }
    Unit unit = make_unit(ctx, target);
    unit.module = e.module;
    unit.version = e.version;
    run_unit([&] { maybe_build_module(ctx, unit); });
    status = run_unit([&] { maybe_install_module(ctx, unit); });
  }
  return status;
}

} // namespace actions
