#include "core/kernel.hpp"

#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace core {

std::string kernel_source_dir(const Context& ctx, const std::string& kernel) {
  if (!ctx.opts.kernel_source_dir.empty()) {
    return ctx.opts.kernel_source_dir;
  }
  return ctx.settings.install_tree + "/" + kernel + "/build";
}

std::string kernel_config(const Context& ctx, const std::string& kernel) {
  if (!ctx.opts.kernel_config.empty()) {
    return ctx.opts.kernel_config;
  }
  std::string ksrc = kernel_source_dir(ctx, kernel);
  if (util::exists(ksrc + "/include/config/auto.conf")) {
    return ksrc + "/include/config/auto.conf";
  }
  return ksrc + "/.config";
}

bool kernel_headers_present(const Context& ctx, const std::string& kernel) {
  return util::exists(kernel_source_dir(ctx, kernel) + "/include");
}

namespace {
// Stops at the first hit: we only need to know whether any such file exists.
bool any_file_with_suffix(const std::string& dir, const std::string& suffix, int depth) {
  if (depth > 16) {
    return false;
  }
  for (const auto& name : util::list_dir(dir)) {
    std::string path = dir + "/" + name;
    if (util::is_symlink(path)) {
      // find(1) without -L does not descend into symlinked dirs (build/, source/).
      if (util::ends_with(name, suffix) && util::is_regular(path)) {
        return true;
      }
      continue;
    }
    if (util::is_dir(path)) {
      if (any_file_with_suffix(path, suffix, depth + 1)) {
        return true;
      }
    } else if (util::ends_with(name, suffix)) {
      return true;
    }
  }
  return false;
}
} // namespace

std::string module_compression_suffix(const Context& ctx, const std::string& kernel) {
  std::string root = ctx.settings.install_tree + "/" + kernel;
  // Later checks win, as in upstream: zst over xz over gz.
  for (const char* sfx : {".zst", ".xz", ".gz"}) {
    if (any_file_with_suffix(root, std::string(".ko") + sfx, 0)) {
      return sfx;
    }
  }
  return "";
}

bool detect_distro(const SystemPaths& sys, std::string& distro) {
  for (const auto& file : {sys.os_release, sys.os_release_fallback}) {
    if (!util::exists(file)) {
      continue;
    }
    // os-release is a shell fragment; sourcing it as upstream does keeps
    // quoting and escapes exact.
    auto r = run_capture({"bash", "-c",
                          ". \"$1\" >/dev/null 2>&1; if [[ \"$ID\" = ubuntu ]]; then "
                          "echo \"$ID\"; elif [[ ${#ID_LIKE[@]} != 0 ]]; then echo "
                          "\"${ID_LIKE[0]}\"; else echo \"$ID\"; fi",
                          "distro", file});
    distro = util::first_line(r.output);
    return true;
  }
  return false;
}

bool distro_matches(const std::string& distro, const char* glob) {
  return util::glob_match(glob, distro);
}

std::string kconfig_value(const std::string& kconfig_text, const std::string& name) {
  std::string prefix = name + "=";
  for (const auto& line : util::split(kconfig_text, '\n')) {
    if (util::starts_with(line, prefix)) {
      std::string v = line.substr(prefix.size());
      std::string out;
      for (char c : v) {
        if (c != '"') {
          out += c;
        }
      }
      return out;
    }
  }
  return {};
}

bool kconfig_enabled(const std::string& kconfig_text, const std::string& name) {
  for (const auto& line : util::split(kconfig_text, '\n')) {
    if (util::starts_with(line, name + "=y") || util::starts_with(line, name + "=m")) {
      return true;
    }
  }
  return false;
}

} // namespace core
