#include "actions/journal.hpp"

#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace actions {

namespace {

const char* prefix_of(JournalKind kind) {
  return kind == JournalKind::install ? ".install-pending-" : ".uninstall-pending-";
}

std::string journal_path(const core::Context& ctx, const std::string& m, JournalKind kind,
                         const core::KernelArch& ka) {
  return core::module_dir(ctx, m) + "/" + prefix_of(kind) + ka.kernel + "-" + ka.arch;
}

// Puts back every archived original recorded by an .origin file, and drops
// records whose module never left its place.
void restore_all_originals(core::Context& ctx, const std::string& m,
                           const core::KernelArch& ka) {
  std::string backup = core::original_module_dir(ctx, m, ka);
  for (const auto& origin : util::find_files_with_suffix(backup, ".origin")) {
    std::string archived = origin.substr(0, origin.size() - 7);
    auto text = util::read_file(origin);
    std::string original = text ? util::first_line(*text) : std::string();
    std::string lib_tree = ctx.settings.install_tree + "/" + ka.kernel + "/";
    if (util::is_regular(archived) && util::starts_with(original, lib_tree) &&
        !util::lexists(original)) {
      util::mkdir_p(util::dirname(original));
      if (rename(archived.c_str(), original.c_str()) != 0 &&
          util::copy_file(archived, original)) {
        util::remove_file(archived);
      }
    }
    if (!util::lexists(archived)) {
      util::remove_file(origin);
    }
  }
  util::remove_empty_dirs(core::module_dir(ctx, m) + "/original_module");
}

// Temporary files of atomic writes that a kill cut short (name.dkms-tmp.X,
// link.dkms-new): never at a final name, so nothing reads them; sweep them.
void sweep_temporaries(const std::string& dir, int depth) {
  if (depth > 8) {
    return;
  }
  for (const auto& name : util::list_dir(dir)) {
    std::string path = dir + "/" + name;
    if (name.find(".dkms-tmp.") != std::string::npos ||
        util::ends_with(name, ".dkms-new")) {
      util::remove_file(path);
    } else if (!util::is_symlink(path) && util::is_dir(path) &&
               name.find(".deleted-") == std::string::npos) {
      sweep_temporaries(path, depth + 1);
    }
  }
}

void remove_if_ours(const std::string& path, const std::string& base_module_dir) {
  if (!util::lexists(path)) {
    return;
  }
  std::string ours = base_module_dir + "/" + util::basename(path);
  if (util::is_symlink(path) || util::files_equal(path, ours)) {
    util::remove_file(path);
  }
}

void resolve(core::Context& ctx, const std::string& m, JournalKind kind,
             const std::string& path, bool quiet = false) {
  auto text = util::read_file(path);
  auto lines = util::split(text ? *text : std::string(), '\n');
  if (lines.size() < 3 || lines[1].empty() || lines[2].empty()) {
    util::remove_file(path); // cut short before it said anything
    return;
  }
  std::string v = lines[0];
  core::KernelArch ka{lines[1], lines[2]};
  lines.erase(lines.begin() + 1, lines.begin() + 3);
  std::string base_module_dir = core::base_dir(ctx, m, v, ka) + "/module";
  bool linked = !v.empty() && core::link_points_here(ctx, m, v, ka);
  std::string who = m + "/" + v + " for kernel " + ka.kernel + " (" + ka.arch + ")";
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      continue;
    }
    std::string stem = util::basename(lines[i]) + ".dkms-tmp.";
    for (const auto& name : util::list_dir(util::dirname(lines[i]))) {
      if (util::starts_with(name, stem)) {
        util::remove_file(util::dirname(lines[i]) + "/" + name);
      }
    }
  }
  if (kind == JournalKind::install) {
    if (!linked) {
      for (size_t i = 1; i < lines.size(); ++i) {
        if (!lines[i].empty()) {
          remove_if_ours(lines[i], base_module_dir);
        }
      }
      restore_all_originals(ctx, m, ka);
      if (!quiet) {
        ctx.out.err_line("dkms: rolled back the interrupted install of " + who + ".");
      }
    }
  } else {
    for (size_t i = 1; i < lines.size(); ++i) {
      if (!lines[i].empty()) {
        remove_if_ours(lines[i], base_module_dir);
      }
    }
    restore_all_originals(ctx, m, ka);
    if (linked) {
      util::remove_file(core::kernel_link(ctx, m, ka));
    }
    util::remove_all(core::original_module_dir(ctx, m, ka));
    ctx.out.err_line("dkms: completed the interrupted uninstall of " + who + ".");
  }
  util::remove_file(path);
}

} // namespace

void begin_journal(core::Context& ctx, const Unit& unit, JournalKind kind,
                   const std::vector<std::string>& files) {
  std::string text =
      unit.version + "\n" + unit.target.kernel + "\n" + unit.target.arch + "\n";
  for (const auto& f : files) {
    text += f + "\n";
  }
  util::write_file_atomic(journal_path(ctx, unit.module, kind, unit.target), text);
}

void end_journal(core::Context& ctx, const Unit& unit, JournalKind kind) {
  util::remove_file(journal_path(ctx, unit.module, kind, unit.target));
}

void rollback_install(core::Context& ctx, const Unit& unit) {
  std::string path = journal_path(ctx, unit.module, JournalKind::install, unit.target);
  if (util::lexists(path)) {
    resolve(ctx, unit.module, JournalKind::install, path, true);
  }
}

namespace {

bool g_unit_killed = false;

std::string in_progress_mark(const core::Context& ctx) {
  return ctx.settings.dkms_tree + "/.dkms-in-progress";
}

} // namespace

void note_unit_killed() {
  g_unit_killed = true;
}

void finish_changes(core::Context& ctx) {
  if (!g_unit_killed) {
    unlink(in_progress_mark(ctx).c_str());
  }
}

void recover_interrupted_changes(core::Context& ctx) {
  const std::string& dt = ctx.settings.dkms_tree;
  const std::string mark = in_progress_mark(ctx);
  if (util::lexists(mark)) {
    sweep_temporaries(dt, 0);
  } else {
    // Created before this run's first write, so a kill at any later point
    // leaves it for the next run to find.
    int fd = open(mark.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      close(fd);
    }
  }
  for (const auto& m : util::list_dir(dt)) {
    if (m[0] == '.' || !util::is_dir(dt + "/" + m)) {
      continue;
    }
    for (const auto& name : util::list_dir(dt + "/" + m)) {
      for (JournalKind kind : {JournalKind::install, JournalKind::uninstall}) {
        std::string prefix = prefix_of(kind);
        if (util::starts_with(name, prefix) &&
            name.find(".dkms-tmp.") == std::string::npos) {
          resolve(ctx, m, kind, dt + "/" + m + "/" + name);
        }
      }
    }
  }
}

} // namespace actions
