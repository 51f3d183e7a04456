#include "core/kernel.hpp"

#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

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

const std::optional<std::string>& kernel_config_text(const std::string& path) {
  static std::map<std::string, std::optional<std::string>> texts;
  auto it = texts.find(path);
  if (it == texts.end() || !it->second) {
    // A file that could not be read is looked for again next time.
    it = texts.insert_or_assign(path, util::read_file(path)).first;
  }
  return it->second;
}

bool kernel_headers_present(const Context& ctx, const std::string& kernel) {
  return util::exists(kernel_source_dir(ctx, kernel) + "/include");
}

std::string module_compression_suffix(const Context& ctx, const std::string& kernel,
                                      SuffixCheck check) {
  // Callers ask once per module; the answer cannot change under this run
  // except by another program's hand.
  struct Known {
    std::string suffix;
    SuffixCheck checked;
  };
  static std::map<std::string, Known> memo;
  const std::string key = ctx.settings.install_tree + "/" + kernel;
  auto hit = memo.find(key);
  if (hit != memo.end() && (hit->second.checked == SuffixCheck::every_directory ||
                            check == SuffixCheck::top_levels)) {
    return hit->second.suffix;
  }
  std::string suffix = indexed_compression_suffix(ctx, kernel, check);
  memo[key] = {suffix, check};
  return suffix;
}

namespace {

bool is_os_release_value_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("._/:,+%@=-", c) != nullptr;
}

// Names whose assignment bash refuses or that change how it runs.
bool is_special_shell_name(const std::string& name) {
  return util::starts_with(name, "BASH") || name == "UID" || name == "EUID" ||
         name == "PPID" || name == "SHELLOPTS" || name == "POSIXLY_CORRECT" ||
         name == "GROUPS" || name == "FUNCNAME";
}

} // namespace

std::optional<OsReleaseIds> parse_os_release(const std::string& text) {
  OsReleaseIds ids;
  for (const auto& line : util::split(text, '\n')) {
    size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || line[p] == '#') {
      continue;
    }
    size_t eq = line.find('=', p);
    if (eq == std::string::npos || eq == p) {
      return std::nullopt;
    }
    std::string name = line.substr(p, eq - p);
    if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
      return std::nullopt;
    }
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        return std::nullopt;
      }
    }
    if (is_special_shell_name(name)) {
      return std::nullopt;
    }
    std::string rest = line.substr(eq + 1);
    size_t end = rest.find_last_not_of(" \t");
    rest = end == std::string::npos ? std::string() : rest.substr(0, end + 1);
    std::string value;
    if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) {
      // One quoted string and nothing after it; no escapes or expansions.
      char q = rest[0];
      if (rest.size() < 2 || rest.back() != q) {
        return std::nullopt;
      }
      value = rest.substr(1, rest.size() - 2);
      const char* bad = q == '"' ? "\"\\$`" : "'";
      if (value.find_first_of(bad) != std::string::npos ||
          value.find_first_of("\r") != std::string::npos) {
        return std::nullopt;
      }
    } else {
      for (char c : rest) {
        if (!is_os_release_value_char(c)) {
          return std::nullopt;
        }
      }
      value = rest;
    }
    if (name == "ID") {
      ids.id = value;
    } else if (name == "ID_LIKE") {
      ids.id_like = value;
    }
  }
  return ids;
}

std::string distro_from_ids(const OsReleaseIds& ids) {
  if (ids.id && *ids.id == "ubuntu") {
    return *ids.id;
  }
  if (ids.id_like) {
    return *ids.id_like;
  }
  return ids.id.value_or("");
}

std::string distro_from_os_release_shell(const std::string& file) {
  // os-release is a shell fragment; sourcing it as upstream does keeps
  // quoting and escapes exact.
  auto r = run_capture({"bash", "-c",
                        ". \"$1\" >/dev/null 2>&1; if [[ \"$ID\" = ubuntu ]]; then "
                        "echo \"$ID\"; elif [[ ${#ID_LIKE[@]} != 0 ]]; then echo "
                        "\"${ID_LIKE[0]}\"; else echo \"$ID\"; fi",
                        "distro", file});
  return util::first_line(r.output);
}

bool detect_distro(const SystemPaths& sys, std::string& distro) {
  for (const auto& file : {sys.os_release, sys.os_release_fallback}) {
    if (!util::exists(file)) {
      continue;
    }
    // Plain KEY=value lines (the usual case) need no shell; the shell
    // starts from the environment's ID and ID_LIKE.
    auto text = util::read_file(file);
    auto ids = text ? parse_os_release(*text) : std::nullopt;
    if (ids) {
      OsReleaseIds merged;
      if (const char* env = getenv("ID")) {
        merged.id = env;
      }
      if (const char* env = getenv("ID_LIKE")) {
        merged.id_like = env;
      }
      if (ids->id) {
        merged.id = ids->id;
      }
      if (ids->id_like) {
        merged.id_like = ids->id_like;
      }
      distro = distro_from_ids(merged);
      return true;
    }
    distro = distro_from_os_release_shell(file);
    return true;
  }
  return false;
}

bool distro_matches(const std::string& distro, const char* glob) {
  return util::glob_match(glob, distro);
}

} // namespace core
