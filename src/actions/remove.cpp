// dkms unbuild and remove (SPEC §2.5, §2.6): drop built copies of a pair,
// and unregister the pair from the dkms tree.
#include "actions/actions.hpp"
#include "core/crash.hpp"
#include "core/exit.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace actions {

namespace {

void check_pair(core::Context& ctx, const std::string& action) {
  Unit first = make_unit(ctx, {});
  check_module_args(ctx, action, first);
  die_if_broken(ctx, first.module, first.version);
  die_unless_added(ctx, first.module, first.version);
  check_rw_dkms_tree(ctx);
}

// An rpm upgrade runs the new package's add before the old one's remove;
// the lock written by add tells remove to stand down (SPEC §2.6 step 2).
bool rpm_safe_upgrade_cancels(core::Context& ctx, const std::string& m,
                              const std::string& v) {
  std::string pppid = grandparent_pid();
  std::string stamp = util::trim(process_start_time(pppid).value_or(""));
  std::string prefix = "dkms_rpm_safe_upgrade_lock." + pppid + ".";
  for (const auto& name : util::list_dir(ctx.settings.tmp_location)) {
    if (!util::starts_with(name, prefix)) {
      continue;
    }
    std::string path = ctx.settings.tmp_location + "/" + name;
    auto text = util::read_file(path);
    if (!text || !util::is_regular(path)) {
      continue;
    }
    auto lines = util::split(util::trim(*text), '\n');
    if (lines.empty() || lines.front() != m + "-" + v || stamp.empty() ||
        util::trim(lines.back()) != stamp) {
      continue;
    }
    util::remove_file(path);
    return true;
  }
  return false;
}

} // namespace

void do_unbuild(core::Context& ctx, Unit& unit) {
  core::crash_point("unbuild.before_delete");
  util::remove_all_atomically(
      core::base_dir(ctx, unit.module, unit.version, unit.target));
  std::string kdir =
      core::version_dir(ctx, unit.module, unit.version) + "/" + unit.target.kernel;
  if (!core::has_visible_subdirectory(kdir)) {
    util::remove_all(kdir);
  }
}

void maybe_unbuild_module(core::Context& ctx, Unit& unit) {
  if (!core::is_built(ctx, unit.module, unit.version, unit.target)) {
    ctx.out.line("Module " + unit.module + "/" + unit.version +
                 " is not built for kernel " + unit.target.kernel + " (" +
                 unit.target.arch + "). Skipping...");
    return;
  }
  do_unbuild(ctx, unit);
}

int action_unbuild(core::Context& ctx) {
  check_pair(ctx, "unbuild");
  for (size_t i = 0; i < ctx.targets.size(); ++i) {
    if (i != 0) {
      ctx.out.line("");
    }
    Unit unit = make_unit(ctx, ctx.targets[i]);
    maybe_uninstall_module(ctx, unit);
    maybe_unbuild_module(ctx, unit);
  }
  return 0;
}

int action_remove(core::Context& ctx) {
  check_pair(ctx, "remove");
  const std::string& m = ctx.opts.module;
  const std::string& v = ctx.opts.version;
  std::string vdir = core::version_dir(ctx, m, v);
  // Leftovers of interrupted builds, and empty dirs such as add's build/.
  for (const auto& k : util::list_dir(vdir)) {
    for (const auto& name : util::list_dir(vdir + "/" + k)) {
      if (util::starts_with(name, ".tmp_") ||
          name.find(".deleted-") != std::string::npos) {
        util::remove_all(vdir + "/" + k + "/" + name);
      }
    }
  }
  for (const auto& name : util::list_dir(vdir)) {
    std::string path = vdir + "/" + name;
    if (util::is_dir(path) && !util::is_symlink(path) && util::list_dir(path).empty()) {
      util::remove_empty_dir(path);
    }
  }
  if (ctx.opts.rpm_safe_upgrade && rpm_safe_upgrade_cancels(ctx, m, v)) {
    ctx.out.error({"Remove cancelled because --rpm_safe_upgrade scenario detected."});
    return 0;
  }
  for (const auto& target : ctx.targets) {
    Unit unit = make_unit(ctx, target);
    maybe_uninstall_module(ctx, unit);
    maybe_unbuild_module(ctx, unit);
    ctx.out.line("");
  }
  bool other_dirs = false;
  for (const auto& name : util::list_dir(vdir)) {
    std::string path = vdir + "/" + name;
    if (name[0] == '.' || util::is_symlink(path) || !util::is_dir(path)) {
      continue;
    }
    if (!util::ere_search("(build|tarball|driver_disk|rpm|deb|source)$", path)) {
      other_dirs = true;
    }
  }
  if (!other_dirs) {
    ctx.out.line("Deleting module " + m + "/" + v + " completely from the DKMS tree.");
    core::crash_point("remove.before_delete");
    util::remove_all_atomically(vdir);
  }
  // Like upstream's `ls | wc -w`: hidden leftovers don't keep it alive.
  std::string mdir = core::module_dir(ctx, m);
  bool visible = false;
  for (const auto& name : util::list_dir(mdir)) {
    visible = visible || name[0] != '.';
  }
  if (!visible) {
    util::remove_all(mdir);
  }
  return 0;
}

} // namespace actions
