// dkms uninstall (SPEC §2.4, §7.6): remove installed module files of a
// pair from a kernel, put back the modules they displaced, run depmod.
#include "actions/actions.hpp"
#include "actions/journal.hpp"
#include "actions/module_files.hpp"
#include "core/crash.hpp"
#include "core/depmod.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace actions {

namespace {

// rmdir -p --ignore-fail-on-non-empty of `rel` below root.
void remove_empty_parents(const std::string& root, std::string rel) {
  while (!rel.empty() && rel[0] == '/') {
    rel.erase(0, 1);
  }
  while (!rel.empty()) {
    if (!util::remove_empty_dir(root + "/" + rel)) {
      return;
    }
    size_t slash = rel.rfind('/');
    if (slash == std::string::npos) {
      return;
    }
    rel.resize(slash);
  }
}

void restore_originals(core::Context& ctx, const Unit& unit, const core::ModuleSlot& slot,
                       const std::string& suffix) {
  const auto& ka = unit.target;
  std::string backup = core::original_module_dir(ctx, unit.module, ka);
  std::string lib_tree = ctx.settings.install_tree + "/" + ka.kernel;
  if (util::is_dir(backup)) {
    std::vector<std::string> origins;
    for (const auto& path : util::find_files_with_suffix(backup, ".origin")) {
      if (util::glob_match(slot.dest_name + ".*.origin", util::basename(path))) {
        origins.push_back(path);
      }
    }
    for (const auto& origin_file : origins) {
      std::string archived = origin_file.substr(0, origin_file.size() - 7);
      if (!util::is_regular(archived)) {
        continue;
      }
      auto text = util::read_file(origin_file);
      std::string original = text ? util::first_line(*text) : std::string();
      if (!util::starts_with(original, lib_tree + "/")) {
        ctx.out.warning({"Bad original location '" + original + "' in " + origin_file});
        continue;
      }
      ctx.out.line("Restoring archived original module " + original);
      util::mkdir_p(util::dirname(original));
      if (rename(archived.c_str(), original.c_str()) != 0) {
        // Across filesystems: copy into place first, then drop the archive.
        if (!util::copy_file(archived, original)) {
          continue;
        }
        util::remove_file(archived);
      }
      util::remove_file(origin_file);
    }
    util::remove_empty_dirs(util::dirname(backup));
  }
  // Archived by older dkms versions without an .origin record.
  std::string legacy = module_file(backup, slot.dest_name, suffix);
  if (!legacy.empty()) {
    ctx.out.line("Restoring archived original module");
    std::string dest = lib_tree + slot.dest_location + "/";
    util::mkdir_p(dest);
    rename(legacy.c_str(), (dest + util::basename(legacy)).c_str());
  }
}

} // namespace

void do_uninstall(core::Context& ctx, Unit& unit) {
  const auto& ka = unit.target;
  const std::string& m = unit.module;
  const std::string& v = unit.version;
  ctx.out.line("Module " + m + "/" + v + " for kernel " + ka.kernel + " (" + ka.arch +
               "):");
  std::string suffix = core::module_compression_suffix(ctx, ka.kernel);
  auto conf = read_conf_or_die(ctx, unit);
  std::string lib_tree = ctx.settings.install_tree + "/" + ka.kernel;
  bool was_active = core::link_points_here(ctx, m, v, ka);
  if (was_active) {
    ctx.out.line("Before uninstall, this module version was ACTIVE on this kernel.");
    if (!conf.no_weak_modules && !ctx.weak_modules_remove.empty()) {
      bool any_installed = false;
      for (const auto& e : core::built_entries(ctx, m, v, {}, {})) {
        any_installed = any_installed || e.state == core::State::installed;
      }
      if (any_installed) {
        ctx.out.line("Removing linked weak modules...");
        run_weak_modules(ctx, unit, conf, ctx.weak_modules_remove, suffix);
      }
    }
    bool rpm_distro = !(core::distro_matches(ctx.distro, "debian*") ||
                        core::distro_matches(ctx.distro, "ubuntu*") ||
                        core::distro_matches(ctx.distro, "arch*") ||
                        core::distro_matches(ctx.distro, "gentoo*"));
    std::vector<std::string> doomed;
    for (const auto& slot : conf.modules) {
      std::string loc = actual_dest_location(ctx, unit, slot, suffix);
      if (!loc.empty()) {
        for (const auto& name : util::list_dir(lib_tree + loc)) {
          if (util::starts_with(name, slot.dest_name + ".ko")) {
            doomed.push_back(lib_tree + loc + "/" + name);
          }
        }
      }
    }
    begin_journal(ctx, unit, JournalKind::uninstall, doomed);
    for (const auto& slot : conf.modules) {
      std::string loc = actual_dest_location(ctx, unit, slot, suffix);
      if (!loc.empty()) {
        ctx.out.line("Deleting " + lib_tree + loc + "/" + slot.dest_name + ".ko" +
                     suffix);
        std::string dir = lib_tree + loc;
        for (const auto& name : util::list_dir(dir)) {
          if (util::starts_with(name, slot.dest_name + ".ko")) {
            util::remove_file(dir + "/" + name);
          }
        }
        bool owned = false;
        if (rpm_distro) {
          std::string rel = loc;
          while (!rel.empty() && rel[0] == '/') {
            rel.erase(0, 1);
          }
          owned = core::run_capture({"rpm", "-qf", rel}, lib_tree).status == 0;
        }
        if (!owned) {
          remove_empty_parents(lib_tree, loc);
        }
      } else {
        ctx.out.line("Module " + slot.dest_name + ".ko" + suffix +
                     " was not found within " + lib_tree + "/");
      }
      core::crash_point("uninstall.before_restore");
      restore_originals(ctx, unit, slot, suffix);
    }
    core::crash_point("uninstall.before_unlink");
    util::remove_file(core::kernel_link(ctx, m, ka));
    end_journal(ctx, unit, JournalKind::uninstall);
  } else {
    ctx.out.line("This module version was INACTIVE for this kernel.");
  }
  run_build_script(ctx, unit, conf, "post_remove", conf.post_remove);
  if (!ctx.defer_depmod) {
    core::run_depmod(ctx, ka.kernel);
  } else {
    util::write_file_atomic(
        ctx.settings.dkms_tree + "/depmod-pending-" + ka.kernel + "-" + ka.arch, "");
  }
  std::string orig_root = core::module_dir(ctx, m) + "/original_module";
  std::string orig = core::original_module_dir(ctx, m, ka);
  if (was_active && util::is_dir(orig)) {
    ctx.out.line("Removing original module(s) from DKMS tree for kernel " + ka.kernel +
                 " (" + ka.arch + ")");
    util::remove_all(orig);
    if (!core::has_visible_subdirectory(orig_root + "/" + ka.kernel)) {
      util::remove_all(orig_root + "/" + ka.kernel);
    }
  }
  if (!core::has_visible_subdirectory(orig_root)) {
    util::remove_all(orig_root);
  }
}

void maybe_uninstall_module(core::Context& ctx, Unit& unit) {
  if (!core::is_installed(ctx, unit.module, unit.version, unit.target)) {
    ctx.out.line("Module " + unit.module + "/" + unit.version +
                 " is not installed for kernel " + unit.target.kernel + " (" +
                 unit.target.arch + "). Skipping...");
    return;
  }
  do_uninstall(ctx, unit);
}

int action_uninstall(core::Context& ctx) {
  Unit first = make_unit(ctx, {});
  check_module_args(ctx, "uninstall", first);
  die_if_broken(ctx, first.module, first.version);
  die_unless_added(ctx, first.module, first.version);
  check_root(ctx);
  // Not isolated per kernel: a fatal error ends the whole command.
  for (size_t i = 0; i < ctx.targets.size(); ++i) {
    if (i != 0) {
      ctx.out.line("");
    }
    Unit unit = make_unit(ctx, ctx.targets[i]);
    maybe_uninstall_module(ctx, unit);
  }
  return 0;
}

} // namespace actions
