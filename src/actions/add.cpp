#include "actions/actions.hpp"
#include "core/crash.hpp"
#include "core/exit.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace actions {

using core::die;

void add_source_tree(core::Context& ctx, Unit& unit, const std::string& path) {
  auto from = util::real_path(path);
  if (!from || !util::is_regular(*from + "/dkms.conf")) {
    die(ctx.out, 9, {path + " must contain a dkms.conf file!"});
  }
  check_root(ctx);
  // PACKAGE_NAME/PACKAGE_VERSION of the tree name the pair, whatever the
  // directory is called.
  core::ConfRequest req;
  req.main_file = *from + "/dkms.conf";
  req.target = ctx.targets.empty() ? core::KernelArch{} : ctx.targets[0];
  auto conf = core::require_dkms_conf(ctx, req, nullptr, req.main_file);
  unit.module = conf.package_name;
  unit.version = conf.package_version;
  std::string dest = core::source_tree_dir(ctx, unit.module, unit.version);
  if (unit.force && util::is_dir(dest)) {
    ctx.out.err("\n");
    ctx.out.line("Forcing install of " + unit.module + "/" + unit.version);
    util::remove_all(dest);
  }
  if (*from == dest || *from == core::source_link(ctx, unit.module, unit.version) ||
      *from == core::build_dir(ctx, unit.module, unit.version)) {
    return;
  }
  std::string error;
  if (!util::copy_tree(*from, dest, &error)) {
    die(ctx.out, 1, {"Could not copy " + *from + " to " + dest + ": " + error});
  }
}

static void write_rpm_safe_upgrade_lock(core::Context& ctx, const Unit& unit) {
  const std::string pppid = grandparent_pid();
  std::string templ =
      ctx.settings.tmp_location + "/dkms_rpm_safe_upgrade_lock." + pppid + ".XXXXXX";
  int fd = mkstemp(templ.data());
  if (fd < 0) {
    die(ctx.out, 1, {"Unable to make temporary file."});
  }
  std::string text = unit.module + "-" + unit.version + "\n";
  text += process_start_time(pppid).value_or("");
  (void)!write(fd, text.data(), text.size());
  close(fd);
}

void add_module(core::Context& ctx, Unit& unit) {
  const auto& o = ctx.opts;
  if (!o.archive.empty() && unit.module.empty() && unit.version.empty()) {
    load_tarball(ctx, unit);
  } else if (!o.source_dir.empty() && unit.module.empty() && unit.version.empty()) {
    add_source_tree(ctx, unit, o.source_dir);
  }
  check_module_args(ctx, "add", unit);
  if (o.rpm_safe_upgrade) {
    write_rpm_safe_upgrade_lock(ctx, unit);
  }
  const std::string& m = unit.module;
  const std::string& v = unit.version;
  if (core::is_added(ctx, m, v)) {
    die(ctx.out, 3,
        {"DKMS tree already contains: " + m + "/" + v,
         "You cannot add the same module/version combo more than once."});
  }
  std::string src = core::source_tree_dir(ctx, m, v);
  std::string source_conf = o.conf_file.empty() ? src + "/dkms.conf" : o.conf_file;
  if (!util::is_dir(src)) {
    die(ctx.out, 2,
        {"Could not find module source directory.",
         "Directory: " + src + " does not exist."});
  }
  auto conf = read_conf_strict_or_die(ctx, unit, source_conf);

  core::crash_point("add.before_link");
  std::string link = core::source_link(ctx, m, v);
  ctx.out.line("Creating symlink " + link + " -> " + src);
  util::mkdir_p(core::build_dir(ctx, m, v));
  // A broken pair may still have a dangling link: add repairs it.
  if (util::is_symlink(link)) {
    util::remove_file(link);
  }
  if (symlink(src.c_str(), link.c_str()) != 0) {
    die(ctx.out, 1, {"Could not create symlink " + link + " -> " + src});
  }
  int rc = run_build_script(ctx, unit, conf, "post_add", conf.post_add);
  if (rc != 0) {
    throw core::Exit{rc};
  }
}

int action_add(core::Context& ctx) {
  check_all_is_banned(ctx, "add");
  check_rw_dkms_tree(ctx);
  Unit unit = make_unit(ctx, ctx.targets.empty() ? core::KernelArch{} : ctx.targets[0]);
  add_module(ctx, unit);
  return 0;
}

} // namespace actions
