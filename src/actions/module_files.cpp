#include "actions/module_files.hpp"

#include "core/modinfo.hpp"
#include "core/module_index.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace actions {

std::string module_file(const std::string& dir, const std::string& name,
                        const std::string& suffix) {
  std::string plain = dir + "/" + name + ".ko";
  if (util::exists(plain)) {
    return plain;
  }
  if (util::exists(plain + suffix)) {
    return plain + suffix;
  }
  return {};
}

std::vector<std::string> find_installed_module(const core::Context& ctx,
                                               const std::string& kernel,
                                               const std::string& name,
                                               const std::string& suffix) {
  std::vector<std::string> names = {name + ".ko"};
  if (!suffix.empty()) {
    names.push_back(name + ".ko" + suffix);
  }
  return core::indexed_files_named(ctx, kernel, names);
}

std::string actual_dest_location(const core::Context& ctx, const Unit& unit,
                                 const core::ModuleSlot& slot,
                                 const std::string& suffix) {
  std::vector<std::string> locations = {slot.install_location};
  if (slot.dest_location != slot.install_location) {
    locations.push_back(slot.dest_location);
  }
  std::string owned =
      module_file(core::kernel_link(ctx, unit.module, unit.target) + "/module",
                  slot.dest_name, suffix);
  auto owned_info = core::read_modinfo(owned);
  std::string owned_version = owned_info ? core::version_info(*owned_info).version : "";
  for (const auto& loc : locations) {
    std::string installed =
        module_file(ctx.settings.install_tree + "/" + unit.target.kernel + loc,
                    slot.dest_name, suffix);
    if (installed.empty()) {
      continue;
    }
    // Upstream compares with compare_module_version, which succeeds when
    // the version strings are equal (srcversion does not matter).
    auto info = core::read_modinfo(installed);
    std::string version = info ? core::version_info(*info).version : "";
    if (version == owned_version) {
      return loc;
    }
  }
  return {};
}

void run_weak_modules(core::Context& ctx, const Unit& unit, const core::DkmsConf& conf,
                      const std::string& helper, const std::string& suffix) {
  std::string paths;
  for (const auto& slot : conf.modules) {
    std::string loc = actual_dest_location(ctx, unit, slot, suffix);
    paths += module_file(ctx.settings.install_tree + "/" + unit.target.kernel + loc,
                         slot.dest_name, suffix) +
             "\n";
  }
  core::ProcessSpec spec;
  spec.argv = util::split_words(helper);
  spec.stdin_data = paths;
  spec.out_fd = ctx.out.stdout_fd() < 0 ? 1 : ctx.out.stdout_fd();
  spec.err_fd = ctx.out.stderr_fd() < 0 ? 2 : ctx.out.stderr_fd();
  core::run_process(spec);
}

} // namespace actions
