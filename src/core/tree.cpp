#include "core/tree.hpp"

#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <fnmatch.h>
#include <map>
#include <optional>
#include <sys/stat.h>

namespace core {

std::string module_dir(const Context& ctx, const std::string& m) {
  return ctx.settings.dkms_tree + "/" + m;
}

std::string version_dir(const Context& ctx, const std::string& m, const std::string& v) {
  return ctx.settings.dkms_tree + "/" + m + "/" + v;
}

std::string base_dir(const Context& ctx, const std::string& m, const std::string& v,
                     const KernelArch& ka) {
  return version_dir(ctx, m, v) + "/" + ka.kernel + "/" + ka.arch;
}

std::string source_link(const Context& ctx, const std::string& m, const std::string& v) {
  return version_dir(ctx, m, v) + "/source";
}

std::string build_dir(const Context& ctx, const std::string& m, const std::string& v) {
  return version_dir(ctx, m, v) + "/build";
}

std::string source_tree_dir(const Context& ctx, const std::string& m,
                            const std::string& v) {
  return ctx.settings.source_tree + "/" + m + "-" + v;
}

std::string kernel_link(const Context& ctx, const std::string& m, const KernelArch& ka) {
  return module_dir(ctx, m) + "/kernel-" + ka.kernel + "-" + ka.arch;
}

std::string original_module_dir(const Context& ctx, const std::string& m,
                                const KernelArch& ka) {
  return module_dir(ctx, m) + "/original_module/" + ka.kernel + "/" + ka.arch;
}

bool is_broken(const Context& ctx, const std::string& m, const std::string& v) {
  if (m.empty() || v.empty() || !util::is_dir(version_dir(ctx, m, v))) {
    return false;
  }
  std::string src = source_link(ctx, m, v);
  bool link = util::is_symlink(src);
  if (link && !util::is_dir(src)) {
    return true;
  }
  return !link && util::is_dir(source_tree_dir(ctx, m, v) + "/");
}

bool is_added(const Context& ctx, const std::string& m, const std::string& v) {
  if (m.empty() || v.empty() || !util::is_dir(version_dir(ctx, m, v))) {
    return false;
  }
  std::string src = source_link(ctx, m, v);
  return util::is_symlink(src) && util::is_dir(src);
}

bool is_built(const Context& ctx, const std::string& m, const std::string& v,
              const KernelArch& ka) {
  if (m.empty() || v.empty() || ka.kernel.empty() || ka.arch.empty()) {
    return false;
  }
  return util::is_dir(base_dir(ctx, m, v, ka) + "/module");
}

namespace {

bool is_plain_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
}

bool is_canonical_dir(const std::string& path) {
  // Asked once per module by status; the tree root does not move meanwhile.
  static std::map<std::string, bool> memo;
  auto hit = memo.find(path);
  if (hit != memo.end()) {
    return hit->second;
  }
  auto real = util::real_path(path);
  return memo[path] = real && *real == path;
}

// The answer for the shape dkms itself writes, kernel-K-A -> "v/K/A" below
// a canonical DT/m, from one readlink and an lstat per target component
// instead of a readlink per component of the whole path (status asks this
// for every entry). nullopt: another shape, resolve in full.
std::optional<bool> link_is_plain_relative(const Context& ctx, const std::string& m,
                                           const std::string& v, const KernelArch& ka,
                                           const std::string& link) {
  if (!is_plain_name(m) || !is_plain_name(v) || !is_plain_name(ka.kernel) ||
      !is_plain_name(ka.arch) || !is_canonical_dir(ctx.settings.dkms_tree)) {
    return std::nullopt;
  }
  auto target = util::read_link(link);
  if (!target || *target != v + "/" + ka.kernel + "/" + ka.arch) {
    return std::nullopt;
  }
  const std::string mdir = module_dir(ctx, m);
  const std::string path = mdir + "/" + v + "/" + ka.kernel;
  for (const std::string& dir : {mdir, mdir + "/" + v, path}) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) {
      return false; // readlink -f fails on a missing directory on the way
    }
    if (!S_ISDIR(st.st_mode)) {
      return std::nullopt;
    }
  }
  struct stat st;
  if (lstat((path + "/" + ka.arch).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return std::nullopt;
  }
  // Present or not, readlink -f names DT/m/v/K/A itself.
  return true;
}

} // namespace

bool link_points_here(const Context& ctx, const std::string& m, const std::string& v,
                      const KernelArch& ka) {
  if (m.empty() || v.empty() || ka.kernel.empty() || ka.arch.empty()) {
    return false;
  }
  std::string link = kernel_link(ctx, m, ka);
  if (!util::is_symlink(link)) {
    return false;
  }
  if (auto quick = link_is_plain_relative(ctx, m, v, ka, link)) {
    return *quick;
  }
  // readlink -f, as upstream: the last component may be missing.
  auto resolved = util::real_path(link);
  if (!resolved) {
    auto target = util::read_link(link);
    if (!target || target->empty()) {
      return false;
    }
    std::string full =
        (*target)[0] == '/' ? *target : util::dirname(link) + "/" + *target;
    auto parent = util::real_path(util::dirname(full));
    if (!parent || util::lexists(full)) {
      return false;
    }
    resolved = *parent + "/" + util::basename(full);
  }
  return *resolved == base_dir(ctx, m, v, ka);
}

bool is_installed(const Context& ctx, const std::string& m, const std::string& v,
                  const KernelArch& ka) {
  return is_built(ctx, m, v, ka) && link_points_here(ctx, m, v, ka);
}

namespace {

bool has_glob_chars(const std::string& s) {
  return s.find_first_of("*?[+@!(") != std::string::npos;
}

// Names in dir matching a bash glob (extglob on, dotfiles need an explicit
// dot). A pattern without glob characters names the entry literally, as an
// unmatched bash glob is left as is.
std::vector<std::string> glob_names(const std::string& dir, const std::string& pattern) {
  std::vector<std::string> out;
  if (!has_glob_chars(pattern)) {
    if (util::lexists(dir + "/" + pattern)) {
      out.push_back(pattern);
    }
    return out;
  }
  for (const auto& name : util::list_dir(dir)) {
    if (fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD | FNM_EXTMATCH) == 0) {
      out.push_back(name);
    }
  }
  return out;
}

} // namespace

std::vector<ModuleVersion> list_module_versions(const Context& ctx,
                                                const std::string& mpat,
                                                const std::string& vpat) {
  const std::string& dt = ctx.settings.dkms_tree;
  std::vector<std::pair<std::string, ModuleVersion>> found;
  for (const auto& m : glob_names(dt, mpat.empty() ? "*" : mpat)) {
    std::string mdir = dt + "/" + m;
    if (!util::is_dir(mdir)) {
      continue;
    }
    for (const auto& v : glob_names(mdir, vpat.empty() ? "*" : vpat)) {
      if (!util::is_dir(mdir + "/" + v)) {
        continue;
      }
      // kernel-<K>-<A> links name installed versions, not versions.
      if (util::glob_match("kernel-*-*", v)) {
        continue;
      }
      found.push_back({m + "/" + v, {m, v}});
    }
  }
  // Bash sorts the expanded paths as whole strings.
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ModuleVersion> out;
  out.reserve(found.size());
  for (auto& f : found) {
    out.push_back(std::move(f.second));
  }
  return out;
}

std::vector<StatusEntry> built_entries(const Context& ctx, const std::string& m,
                                       const std::string& v, const std::string& kpat,
                                       const std::string& apat) {
  std::string vdir = version_dir(ctx, m, v);
  std::vector<std::pair<std::string, KernelArch>> found;
  for (const auto& k : glob_names(vdir, kpat.empty() ? "+([0-9]).*" : kpat)) {
    std::string kdir = vdir + "/" + k;
    if (!util::is_dir(kdir)) {
      continue;
    }
    for (const auto& a : glob_names(kdir, apat.empty() ? "*" : apat)) {
      found.push_back({k + "/" + a, {k, a}});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<StatusEntry> out;
  for (auto& f : found) {
    if (!is_built(ctx, m, v, f.second)) {
      continue;
    }
    State st = link_points_here(ctx, m, v, f.second) ? State::installed : State::built;
    out.push_back({st, m, v, f.second});
  }
  return out;
}

std::vector<StatusEntry> module_status(const Context& ctx, const std::string& mpat,
                                       const std::string& vpat, const std::string& kpat,
                                       const std::string& apat) {
  std::vector<StatusEntry> out;
  for (const auto& mv : list_module_versions(ctx, mpat, vpat)) {
    if (is_broken(ctx, mv.module, mv.version)) {
      out.push_back({State::broken, mv.module, mv.version, {}});
      continue;
    }
    if (!is_added(ctx, mv.module, mv.version)) {
      continue;
    }
    auto built = built_entries(ctx, mv.module, mv.version, kpat, apat);
    if (built.empty()) {
      out.push_back({State::added, mv.module, mv.version, {}});
    }
    for (auto& e : built) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string newest_version(const Context& ctx, const std::string& name,
                           const KernelArch& ka) {
  std::string best;
  for (const auto& e : module_status(ctx, name, "*", ka.kernel, ka.arch)) {
    if (best.empty() || filevercmp(e.version, best) > 0) {
      best = e.version;
    }
  }
  return best;
}

bool has_visible_subdirectory(const std::string& dir) {
  for (const auto& name : util::list_dir(dir)) {
    std::string path = dir + "/" + name;
    if (name[0] != '.' && !util::is_symlink(path) && util::is_dir(path)) {
      return true;
    }
  }
  return false;
}

} // namespace core
