// dkms install (SPEC §2.3, §7.1-§7.5): copy built modules into the kernel's
// module tree, archiving any module they displace, then run depmod.
#include "actions/actions.hpp"
#include "actions/journal.hpp"
#include "actions/module_files.hpp"
#include "core/crash.hpp"
#include "core/depmod.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/modinfo.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace actions {

using core::die;

namespace {

// Entries of /usr/share/dkms/modules_to_force_install/* naming module m.
std::string forced_installation(const core::Context& ctx, const std::string& m) {
  const std::string& dir = ctx.sys.force_install_dir;
  if (!util::is_dir(dir)) {
    return {};
  }
  std::string words;
  for (const auto& name : util::list_dir(dir)) {
    if (name[0] == '.') {
      continue;
    }
    if (auto text = util::read_file(dir + "/" + name)) {
      words += " " + *text;
    }
  }
  for (const auto& w : util::split_words(words)) {
    if (w == m) {
      return "force";
    }
    if (w == m + "_version-override") {
      return "version-override";
    }
  }
  return {};
}

bool obsoleted(const std::string& kernel, const std::string& obsolete_by) {
  // Upstream means an ABI-aware comparison but, as written, the dashes are
  // only turned into spaces before VER(): reproduce that effective rule.
  std::string k = kernel;
  std::string o = obsolete_by;
  for (auto* s : {&k, &o}) {
    for (char& c : *s) {
      if (c == '-') {
        c = ' ';
      }
    }
  }
  return core::ver_key(o) == core::ver_key(k) || core::ver_key(k) > core::ver_key(o);
}

core::VersionInfo verinfo(const std::string& path) {
  auto info = core::read_modinfo(path);
  return info ? core::version_info(*info) : core::VersionInfo{};
}

// Upstream's check_version_sanity for one slot (SPEC §7.2); false = skip.
bool check_version_sanity(core::Context& ctx, const Unit& unit,
                          const core::DkmsConf& conf, const std::string& dest_name,
                          const std::string& suffix,
                          const std::vector<std::string>& hits) {
  const auto& ka = unit.target;
  if (!conf.obsolete_by.empty() && !unit.force &&
      obsoleted(ka.kernel, conf.obsolete_by)) {
    ctx.out.err("\nModule has been obsoleted due to being included in kernel " +
                conf.obsolete_by +
                ".\nWe will avoid installing for future kernels above " +
                conf.obsolete_by + ".\nYou may override by specifying --force.\n");
    return false;
  }
  if (hits.empty() || unit.force_version_override) {
    return true;
  }
  // Upstream word-splits find's output but compares only its first path.
  std::string theirs = hits[0];
  std::string ours = module_file(
      core::base_dir(ctx, unit.module, unit.version, ka) + "/module", dest_name, suffix);
  auto their_info = verinfo(theirs);
  auto our_info = verinfo(ours);
  if (their_info.version == our_info.version) {
    if (their_info.srcversion != our_info.srcversion || unit.force) {
      return true;
    }
    bool blank =
        util::trim(our_info.version).empty() && util::trim(our_info.srcversion).empty();
    if (!blank || util::files_equal(theirs, ours)) {
      if (!our_info.version.empty()) {
        ctx.out.err("Module " + theirs + " already installed at version " +
                    our_info.version + ", override by specifying --force\n");
      } else {
        ctx.out.err(
            "Module " + theirs +
            " already installed (unversioned module), override by specifying --force\n");
      }
      return false;
    }
    return true;
  }
  if (core::ver_key(their_info.version) > core::ver_key(our_info.version) &&
      !unit.force) {
    ctx.out.error(
        {"Module version " + our_info.version + " for " + dest_name + ".ko" + suffix,
         "is not newer than what is already found in kernel " + ka.kernel + " (" +
             their_info.version + ").",
         "You may override by specifying --force."});
    return false;
  }
  return true;
}

// Moves a module that the install is about to shadow into original_module/
// (SPEC §7.3), recording where it came from.
void archive_original(core::Context& ctx, const Unit& unit, const core::ModuleSlot& slot,
                      const std::string& suffix, const std::vector<std::string>& hits) {
  const auto& ka = unit.target;
  std::string lib_tree = ctx.settings.install_tree + "/" + ka.kernel;
  std::string backup = core::original_module_dir(ctx, unit.module, ka);
  std::string link = core::kernel_link(ctx, unit.module, ka);
  bool link_exists = util::is_symlink(link);
  if (link_exists) {
    if (!module_file(backup, slot.dest_name, suffix).empty()) {
      ctx.out.line("An original module was already stored during a previous install");
    }
    return;
  }
  std::vector<std::string> candidates = {
      module_file(lib_tree + "/extra", slot.dest_name, suffix),
      module_file(lib_tree + "/updates", slot.dest_name, suffix),
      module_file(lib_tree + slot.install_location, slot.dest_name, suffix),
  };
  // Upstream's search result is word-split into candidates: every hit.
  candidates.insert(candidates.end(), hits.begin(), hits.end());
  for (const auto& original : candidates) {
    if (original.empty() || !util::is_regular(original)) {
      continue;
    }
    ctx.out.line("Found pre-existing " + original + ", archiving for uninstallation");
    util::mkdir_p(backup);
    std::string name = util::basename(original);
    // Record the origin durably before moving, so a crash in between never
    // leaves an archived module without its way back.
    util::write_file_atomic(backup + "/" + name + ".origin", original + "\n");
    core::crash_point("install.after_origin");
    if (rename(original.c_str(), (backup + "/" + name).c_str()) != 0) {
      std::string err;
      if (util::copy_file(original, backup + "/" + name, &err)) {
        util::remove_file(original);
      }
    }
    return;
  }
}

void install_one_file(core::Context& ctx, const std::string& from,
                      const std::string& to) {
  bool ok;
  if (!ctx.settings.symlink_modules.empty()) {
    util::remove_file(to);
    ok = symlink(from.c_str(), to.c_str()) == 0;
  } else {
    ok = util::copy_file(from, to);
  }
  if (!ok) {
    die(ctx.out, 6, {"Copying '" + from + "' failed"});
  }
}

void modprobe_new_modules(core::Context& ctx) {
  std::vector<std::string> aliases;
  for (const auto& path : util::find_files_named("/sys/devices", {"modalias"})) {
    if (auto text = util::read_file(path)) {
      for (const auto& l : util::split(*text, '\n')) {
        if (!l.empty()) {
          aliases.push_back(l);
        }
      }
    }
  }
  std::sort(aliases.begin(), aliases.end());
  aliases.erase(std::unique(aliases.begin(), aliases.end()), aliases.end());
  std::vector<std::string> argv = {"modprobe", "-a", "-b", "-q"};
  argv.insert(argv.end(), aliases.begin(), aliases.end());
  core::ProcessSpec spec;
  spec.argv = argv;
  core::run_process(spec);
  if (util::is_regular(ctx.sys.modules_load_service)) {
    spec.argv = {"systemctl", "restart", "systemd-modules-load.service"};
    core::run_process(spec);
  }
}

} // namespace

void do_install(core::Context& ctx, Unit& unit) {
  const auto& ka = unit.target;
  if (ka.kernel.empty() || ka.arch.empty()) {
    die(ctx.out, 16, {"do_install: Empty $kernelver or $arch"});
  }
  if (!core::is_built(ctx, unit.module, unit.version, ka)) {
    unit.install_follows = true;
    do_build(ctx, unit);
    unit.install_follows = false;
  }
  const std::string& m = unit.module;
  const std::string& v = unit.version;
  const std::string base = core::base_dir(ctx, m, v, ka);
  const bool saved_force = unit.force;

  std::string forced = forced_installation(ctx, m);
  if (forced == "force") {
    unit.force = true;
    ctx.out.line("Forcing installation of " + m);
  } else if (forced == "version-override") {
    unit.force_version_override = true;
    ctx.out.line("Forcing version override of " + m);
  }
  std::string lib_tree = ctx.settings.install_tree + "/" + ka.kernel;
  if (!util::exists(lib_tree)) {
    die(ctx.out, 6,
        {"The directory " + lib_tree + " doesn't exist.",
         "You cannot install a module onto a non-existant kernel."});
  }
  std::string suffix = core::module_compression_suffix(ctx, ka.kernel);
  auto conf = read_conf_strict_or_die(ctx, unit);
  for (const auto& slot : conf.modules) {
    if (module_file(base + "/module", slot.dest_name, suffix).empty()) {
      die(ctx.out, 6, {"Missing module " + slot.dest_name + " in " + base + "/module"});
    }
  }
  if (core::is_installed(ctx, m, v, ka)) {
    die(ctx.out, 5,
        {"This module/version combo is already installed for kernel " + ka.kernel + " (" +
         ka.arch + ")."});
  }
  if (ctx.opts.rpm_safe_upgrade) {
    unit.force = true;
  }
  if (!conf.pre_install.empty()) {
    // A script may change IT/K: a check made ahead of it no longer answers.
    core::discard_module_index_ahead(ctx, ka.kernel);
  }
  if (run_build_script(ctx, unit, conf, "pre_install", conf.pre_install) != 0 &&
      !unit.force) {
    die(ctx.out, 101,
        {"pre_install failed, aborting install.",
         "You may override by specifying --force."});
  }
  std::vector<std::string> planned;
  for (const auto& slot : conf.modules) {
    planned.push_back(
        lib_tree + slot.install_location + "/" +
        util::basename(module_file(base + "/module", slot.dest_name, suffix)));
  }
  begin_journal(ctx, unit, JournalKind::install, planned);
  // A failure midway (a copy that fails, a read-only tree) undoes what this
  // install did, so the kernel keeps the modules it had.
  try {
    bool any_installed = false;
    for (const auto& slot : conf.modules) {
      // Upstream searches twice, for the version check and before
      // archiving; nothing changes the kernel's tree in between.
      const std::vector<std::string> hits =
          find_installed_module(ctx, ka.kernel, slot.dest_name, suffix);
      if (!check_version_sanity(ctx, unit, conf, slot.dest_name, suffix, hits)) {
        continue;
      }
      archive_original(ctx, unit, slot, suffix, hits);
      std::string from = module_file(base + "/module", slot.dest_name, suffix);
      std::string dest_dir = lib_tree + slot.install_location;
      std::string to = dest_dir + "/" + util::basename(from);
      ctx.out.line("Installing " + to);
      util::mkdir_p(dest_dir);
      install_one_file(ctx, from, to);
      core::crash_point("install.after_copy");
      any_installed = true;
    }
    if (!conf.modules.empty() && !any_installed) {
      end_journal(ctx, unit, JournalKind::install);
      die(ctx.out, 6, {"Installation aborted."});
    }
    // Point kernel-K-A at this version through a rename, so the link is
    // never missing for a moment.
    std::string link = core::kernel_link(ctx, m, ka);
    std::string tmp_link = link + ".dkms-new";
    util::remove_file(tmp_link);
    if (symlink((v + "/" + ka.kernel + "/" + ka.arch).c_str(), tmp_link.c_str()) != 0 ||
        rename(tmp_link.c_str(), link.c_str()) != 0) {
      die(ctx.out, 6, {"Could not create " + link});
    }
    end_journal(ctx, unit, JournalKind::install);
  } catch (const core::Exit&) {
    rollback_install(ctx, unit);
    throw;
  }
  core::crash_point("install.after_link");
  if (!conf.no_weak_modules && !ctx.weak_modules_add.empty()) {
    ctx.out.line("Adding linked weak modules...");
    run_weak_modules(ctx, unit, conf, ctx.weak_modules_add, suffix);
  }
  run_build_script(ctx, unit, conf, "post_install", conf.post_install);
  core::run_depmod(ctx, ka.kernel);
  if (!ctx.settings.modprobe_on_install.empty() && ka.kernel == ctx.current_kernel) {
    modprobe_new_modules(ctx);
  }
  unit.force = saved_force;
  rebuild_dependent_modules(ctx, unit);
}

void maybe_install_module(core::Context& ctx, Unit& unit) {
  if (core::is_installed(ctx, unit.module, unit.version, unit.target)) {
    if (!unit.force) {
      ctx.out.line("Module " + unit.module + "/" + unit.version +
                   " already installed on kernel " + unit.target.kernel + " (" +
                   unit.target.arch + "), skip. You may override by specifying --force.");
      return;
    }
    do_uninstall(ctx, unit);
    ctx.out.line("");
  }
  do_install(ctx, unit);
}

int action_install(core::Context& ctx) {
  check_all_is_banned(ctx, "install");
  die_if_broken(ctx, ctx.opts.module, ctx.opts.version);
  check_root(ctx);
  int status = 0;
  for (const auto& target : ctx.targets) {
    Unit unit = make_unit(ctx, target);
    status = run_unit([&] { maybe_install_module(ctx, unit); });
  }
  return status;
}

} // namespace actions
