// dkms mktarball and ldtarball (SPEC §2.11, §2.12). Tarballs are written and
// read with libarchive. Loading treats the tarball as hostile: it is
// extracted entry by entry into a private directory after each header is
// checked (core/archive), everything is validated before anything is
// written, and each directory reaches the source or dkms tree by a rename
// of a fully copied sibling, so nothing is left half-written.
#include "actions/actions.hpp"
#include "core/archive.hpp"
#include "core/exit.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace actions {

using core::die;

namespace {

// A private temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir(core::Context& ctx, const std::string& parent) {
    auto dir = util::make_temp_dir(parent, "dkms.");
    if (!dir) {
      die(ctx.out, 1, {"Unable to make temporary directory."});
    }
    m_path = *dir;
  }
  ~TempDir() { util::remove_all(m_path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

bool real_dir(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// ---------------------------------------------------------------------------
// mktarball

std::string kernel_list_text(const core::Context& ctx) {
  std::string list;
  for (const auto& ka : ctx.targets) {
    list += (list.empty() ? "" : "-") + std::string("kernel") + ka.kernel + "-" + ka.arch;
  }
  return list;
}

} // namespace

int action_mktarball(core::Context& ctx) {
  Unit unit = make_unit(ctx, ctx.targets.empty() ? core::KernelArch{} : ctx.targets[0]);
  check_module_args(ctx, "mktarball", unit);
  const std::string& m = unit.module;
  const std::string& v = unit.version;
  die_if_broken(ctx, m, v);
  die_unless_added(ctx, m, v);
  read_conf_or_die(ctx, unit);

  std::vector<core::TarMember> members = {
      {".", {}, {}, true, 0700}, // upstream's mktemp -d directory
      {"./dkms_main_tree", {}, {}, true, 0755},
  };
  std::string list = "source-only";
  if (!ctx.opts.source_only) {
    std::set<std::string> kernels;
    for (const auto& ka : ctx.targets) {
      std::string dir = core::base_dir(ctx, m, v, ka);
      if (!util::is_dir(dir)) {
        die(ctx.out, 6,
            {"No modules built for " + ka.kernel + " (" + ka.arch + ").",
             "Modules must already be in the built state before using mktarball."});
      }
      ctx.out.line("Marking modules for " + ka.kernel + " (" + ka.arch +
                   ") for archiving...");
      std::string kdir = "./dkms_main_tree/" + ka.kernel;
      if (kernels.insert(ka.kernel).second) {
        members.push_back({kdir, {}, {}, true, 0755});
      }
      members.push_back({kdir + "/" + ka.arch, dir, {}, false, 0});
    }
    list = kernel_list_text(ctx);
  }
  const std::string source_dir = core::source_link(ctx, m, v);
  if (ctx.opts.binaries_only) {
    ctx.out.line("");
    ctx.out.line("Creating tarball structure to specifically accomodate binaries.");
    members.push_back({"./dkms_binaries_only", {}, {}, true, 0755});
    members.push_back({"./dkms_binaries_only/PACKAGE_NAME", {}, m + "\n", false, 0644});
    members.push_back(
        {"./dkms_binaries_only/PACKAGE_VERSION", {}, v + "\n", false, 0644});
    std::string conf =
        ctx.opts.conf_file.empty() ? source_dir + "/dkms.conf" : ctx.opts.conf_file;
    // Upstream's cp of the conf fails silently when it is missing.
    if (util::is_regular(conf)) {
      members.push_back({"./dkms_binaries_only/dkms.conf", conf, {}, false, 0});
    }
  } else {
    ctx.out.line("");
    ctx.out.line("Marking " + source_dir + " for archiving...");
    members.push_back({"./dkms_source_tree", source_dir + "/", {}, false, 0});
  }
  // `echo "$list" | wc -m` counts the newline too.
  if (list.size() + 1 > 200) {
    list = "manykernels";
  }
  std::string name = m + "-" + v + "-" + list + ".dkms.tar.gz";
  std::string dest = core::version_dir(ctx, m, v) + "/tarball/";
  const std::string& archive = ctx.opts.archive;
  if (!archive.empty()) {
    size_t slash = archive.rfind('/');
    name = slash == std::string::npos ? archive : archive.substr(slash + 1);
    if (slash != std::string::npos) {
      dest = archive.substr(0, slash);
    }
  }
  ctx.out.line("");
  ctx.out.line("Tarball location: " + dest + "/" + name);
  if (!util::is_dir(dest) && !util::mkdir_p(dest)) {
    die(ctx.out, 9, {"Missing write permissions for " + dest + "."});
  }
  if (access(dest.c_str(), W_OK) != 0) {
    die(ctx.out, 9, {"Missing write permissions for " + dest + "."});
  }
  if (auto err = core::write_tarball(dest + "/" + name, members)) {
    die(ctx.out, 6, {"Failed to make tarball.", *err});
  }
  return 0;
}

// ---------------------------------------------------------------------------
// ldtarball

namespace {

struct Loader {
  core::Context& ctx;
  Unit& unit;
  std::string archive;
  std::string root; // the extraction directory

  [[noreturn]] void refuse(const std::string& entry, const std::string& why) {
    die(ctx.out, 7,
        {"Refusing to load " + archive + ": entry \"" + entry + "\" " + why + "."});
  }

  // Every symlink below root/rel must stay inside it once rel is copied
  // elsewhere.
  void check_links(const std::string& rel) {
    if (auto bad = core::find_escaping_symlink(root + "/" + rel)) {
      refuse(rel + "/" + *bad, "is a symbolic link leading outside " + rel);
    }
  }

  // A pair named by an untrusted dkms.conf becomes path components.
  void check_pair_names(const std::string& conf_rel, const std::string& m,
                        const std::string& v) {
    for (const auto& s : {m, v}) {
      if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos) {
        refuse(conf_rel, "names an unusable module/version \"" + m + "/" + v + "\"");
      }
    }
  }

  // Copies src into a fresh sibling of dest, then renames it over dest:
  // dest is either its old self or the complete copy, never a mixture.
  void place_copy(const std::string& src, const std::string& dest) {
    std::string parent = util::dirname(dest);
    std::string base = util::basename(dest);
    util::mkdir_p(parent);
    auto fresh = util::make_temp_dir(parent, "." + base + ".new.");
    std::string error;
    if (!fresh || !util::copy_tree(src, *fresh, &error)) {
      if (fresh) {
        util::remove_all(*fresh);
      }
      die(ctx.out, 1, {"Could not copy " + src + " to " + dest + ": " + error});
    }
    std::optional<std::string> old;
    if (util::lexists(dest)) {
      old = util::make_temp_dir(parent, "." + base + ".old.");
      if (!old || rename(dest.c_str(), old->c_str()) != 0) {
        util::remove_all(*fresh);
        die(ctx.out, 1, {"Could not replace " + dest + "."});
      }
    }
    if (rename(fresh->c_str(), dest.c_str()) != 0) {
      if (old) {
        (void)!rename(old->c_str(), dest.c_str());
      }
      util::remove_all(*fresh);
      die(ctx.out, 1, {"Could not move the copy of " + src + " to " + dest + "."});
    }
    if (old) {
      util::remove_all(*old);
    }
  }

  // Upstream's add_source_tree for a directory of the extraction, except
  // that existing source is only replaced with --force.
  void import_source(const std::string& rel) {
    std::string from = root + "/" + rel;
    if (!util::is_regular(from + "/dkms.conf")) {
      die(ctx.out, 9, {from + " must contain a dkms.conf file!"});
    }
    check_root(ctx);
    Unit probe = make_unit(ctx, unit.target);
    auto conf = read_conf_or_die(ctx, probe, from + "/dkms.conf");
    check_pair_names(rel + "/dkms.conf", conf.package_name, conf.package_version);
    unit.module = conf.package_name;
    unit.version = conf.package_version;
    std::string dest = core::source_tree_dir(ctx, unit.module, unit.version);
    if (util::lexists(dest)) {
      if (!unit.force) {
        die(ctx.out, 8,
            {"Module source " + dest + " already exists.",
             "Use --force to replace it with the source from " + archive + "."});
      }
      ctx.out.err("\n");
      ctx.out.line("Forcing install of " + unit.module + "/" + unit.version);
    }
    check_links(rel);
    place_copy(from, dest);
  }

  void load_plain() {
    auto confs = util::find_files_named(root, {"dkms.conf"});
    if (confs.empty()) {
      die(ctx.out, 3,
          {"Tarball does not appear to be a correctly formed DKMS archive. No dkms.conf "
           "found within it."});
    }
    // The shallowest dkms.conf names the package (find's order is the
    // directory's, which is arbitrary).
    auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/'); };
    std::string best = confs.front();
    for (const auto& c : confs) {
      if (depth(c) < depth(best)) {
        best = c;
      }
    }
    std::string dir = util::dirname(best);
    import_source(dir == root ? "." : dir.substr(root.size() + 1));
  }

  // dkms_main_tree/K/A directories, checked before anything is written.
  std::vector<core::KernelArch> kernel_dirs() {
    std::vector<core::KernelArch> out;
    std::string main = root + "/dkms_main_tree";
    for (const auto& k : util::list_dir(main)) {
      if (!real_dir(main + "/" + k)) {
        continue;
      }
      for (const auto& a : util::list_dir(main + "/" + k)) {
        if (!real_dir(main + "/" + k + "/" + a)) {
          continue;
        }
        std::string rel = "dkms_main_tree/" + k + "/" + a;
        // DT/m/v/{source,build,tarball} are not kernels, and dot names are
        // our temporary siblings.
        if (k == "source" || k == "build" || k == "tarball" || k[0] == '.' ||
            a[0] == '.') {
          refuse(rel, "does not name a kernel and architecture");
        }
        check_links(rel);
        out.push_back({k, a});
      }
    }
    return out;
  }

  void load_dkms_tarball() {
    std::string loc;
    core::DkmsConf conf;
    for (const char* candidate : {"dkms_source_tree", "dkms_binaries_only"}) {
      std::string path = root + "/" + candidate + "/dkms.conf";
      if (!util::is_regular(path)) {
        continue;
      }
      Unit probe = make_unit(ctx, unit.target);
      conf = read_conf_or_die(ctx, probe, path);
      if (conf.package_name.empty() || conf.package_version.empty()) {
        ctx.out.err("\n");
        ctx.out.err_line("Malformed dkms.conf, refusing to load.");
        continue;
      }
      check_pair_names(std::string(candidate) + "/dkms.conf", conf.package_name,
                       conf.package_version);
      if (core::is_added(ctx, conf.package_name, conf.package_version) && !unit.force) {
        die(ctx.out, 8,
            {conf.package_name + "/" + conf.package_version + " is already added!",
             "Aborting."});
      }
      loc = candidate;
      break;
    }
    if (loc.empty()) {
      die(ctx.out, 7,
          {"No valid dkms.conf in dkms_source_tree or dkms_binaries_only.",
           archive + " is not a valid DKMS tarball."});
    }
    auto kernels = kernel_dirs();
    unit.module = conf.package_name;
    unit.version = conf.package_version;
    const std::string& m = unit.module;
    const std::string& v = unit.version;
    std::string src = core::source_tree_dir(ctx, m, v);
    ctx.out.line("");
    ctx.out.line("Loading tarball for " + m + "/" + v);
    if (loc == "dkms_source_tree") {
      import_source(loc);
    } else if (!util::is_dir(src)) {
      // Binaries without source: only with --force, and the source
      // directory then holds just dkms.conf (the README's promise; upstream
      // 3.2.2 leaves an unusable pair and fails instead).
      if (!unit.force) {
        die(ctx.out, 1,
            {"The tarball holds binaries only and there is no module source in " + src +
                 ".",
             "Use --force to load the binaries anyway; " + src +
                 " will then hold only dkms.conf."});
      }
      std::string stage = root + "/.conf-only";
      std::string error;
      if (!util::mkdir_p(stage) ||
          !util::copy_file(root + "/dkms_binaries_only/dkms.conf", stage + "/dkms.conf",
                           &error)) {
        die(ctx.out, 1, {"Could not stage dkms.conf: " + error});
      }
      ctx.out.line("Creating " + src);
      ctx.out.line("Copying dkms.conf to " + src + " ...");
      place_copy(stage, src);
    }
    for (const auto& ka : kernels) {
      std::string dest = core::base_dir(ctx, m, v, ka);
      if (util::is_dir(dest) && !unit.force) {
        ctx.out.warning({dest + " already exists. Skipping..."});
        continue;
      }
      ctx.out.line("Loading " + dest + "...");
      place_copy(root + "/dkms_main_tree/" + ka.kernel + "/" + ka.arch, dest);
    }
  }
};

void install_rpm(core::Context& ctx, const std::string& file) {
  core::ProcessSpec spec;
  spec.argv = {"rpm", "-Uvh", file};
  spec.out_fd = ctx.out.stdout_fd();
  spec.err_fd = ctx.out.stderr_fd();
  if (core::run_process(spec).status != 0) {
    die(ctx.out, 9,
        {"Unable to install " + file + " using rpm.",
         "Check to ensure that your system can install .rpm files."});
  }
  throw core::Exit{action_autoinstall(ctx)};
}

} // namespace

void load_tarball(core::Context& ctx, Unit& unit) {
  const std::string& archive = ctx.opts.archive;
  if (!util::exists(archive)) {
    die(ctx.out, 2, {archive + " does not exist."});
  }
  if (util::ends_with(archive, ".rpm")) {
    install_rpm(ctx, archive);
  }
  TempDir tmp(ctx, ctx.settings.tmp_location);
  Loader loader{ctx, unit, archive, tmp.path()};
  if (auto err = core::extract_archive(archive, tmp.path())) {
    if (err->entry.empty()) {
      die(ctx.out, 7, {"Could not read " + archive + ": " + err->reason});
    }
    loader.refuse(err->entry, err->reason);
  }
  if (real_dir(tmp.path() + "/dkms_main_tree")) {
    loader.load_dkms_tarball();
  } else {
    loader.load_plain();
  }
}

int action_ldtarball(core::Context& ctx) {
  if (geteuid() != 0 && ctx.opts.force) {
    die(ctx.out, 1, {"You must be root to use this command with the --force option."});
  }
  Unit unit = make_unit(ctx, ctx.targets.empty() ? core::KernelArch{} : ctx.targets[0]);
  load_tarball(ctx, unit);
  add_module(ctx, unit);
  return 0;
}

} // namespace actions
