#include "core/kernel.hpp"

#include "core/conf_cache.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <map>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
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

bool kernel_headers_present(const Context& ctx, const std::string& kernel) {
  return util::exists(kernel_source_dir(ctx, kernel) + "/include");
}

namespace {

// Which compressed module suffixes exist below dir, in one walk using the
// directory entry types (no stat per file), as upstream's
// `find IT/K/ -name "*.ko.zst"`: any entry type matches by name, and
// symlinked dirs (build/, source/) are not descended. Stops as soon as
// .ko.zst is seen: it wins over the others. Every directory read is
// appended to *visited.
void scan_module_suffixes(const std::string& dir, int depth, bool found[3],
                          std::vector<std::string>* visited) {
  static const char* const suffixes[3] = {".ko.zst", ".ko.xz", ".ko.gz"};
  if (depth > 64 || found[0]) {
    return;
  }
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  visited->push_back(dir);
  std::vector<std::string> subdirs;
  while (struct dirent* e = readdir(d)) {
    const char* name = e->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) {
      continue;
    }
    for (int i = 0; i < 3; ++i) {
      found[i] = found[i] || util::ends_with(name, suffixes[i]);
    }
    if (found[0]) {
      break;
    }
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = lstat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      subdirs.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  for (const auto& sub : subdirs) {
    scan_module_suffixes(sub, depth + 1, found, visited);
  }
}

// A directory's identity for the suffix record: its entries cannot change
// without its ctime changing (create, unlink, rename all update it, and
// users cannot set ctime back). The root is followed if it is a symlink.
std::string dir_stamp(const std::string& path, bool follow, long long* ctime_ns) {
  struct stat st;
  int rc = follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st);
  if (rc != 0 || !S_ISDIR(st.st_mode)) {
    return "-";
  }
  *ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  return std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " +
         std::to_string(*ctime_ns);
}

constexpr const char* k_suffix_format = "dkms-module-suffix 1";

// The record of the last walk, DT/.module-suffix-<K>: format, root, suffix,
// then one line per directory read (stamp TAB path). Valid while every
// directory keeps its stamp: then every name below the root is unchanged,
// and so is the walk's answer.
// How deep below the root a directory may be and still be checked by
// SuffixCheck::top_levels: the root (which depmod rewrites after every
// module change), kernel/, updates/, updates/dkms/, extra/...
constexpr int k_top_levels_depth = 2;

int depth_below(const std::string& root, std::string_view dir) {
  dir.remove_prefix(std::min(root.size(), dir.size()));
  return static_cast<int>(std::count(dir.begin(), dir.end(), '/'));
}

std::optional<std::string> load_suffix_record(const std::string& record,
                                              const std::string& root,
                                              SuffixCheck check) {
  auto text = util::read_file(record);
  if (!text) {
    return std::nullopt;
  }
  // Read in place: the record has a line per directory of the kernel tree.
  std::string_view rest = *text;
  auto next_line = [&rest](std::string_view& line) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return false;
    }
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return true;
  };
  std::string_view format, recorded_root, suffix, line;
  if (!next_line(format) || format != k_suffix_format || !next_line(recorded_root) ||
      recorded_root != root || !next_line(suffix)) {
    return std::nullopt;
  }
  long long ignored = 0;
  bool first = true;
  while (next_line(line)) {
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view dir = line.substr(tab + 1);
    bool is_root = first;
    first = false;
    if (check == SuffixCheck::top_levels && depth_below(root, dir) > k_top_levels_depth) {
      continue;
    }
    if (dir_stamp(std::string(dir), is_root, &ignored) != line.substr(0, tab)) {
      return std::nullopt;
    }
  }
  if (first || !rest.empty()) {
    return std::nullopt;
  }
  return std::string(suffix);
}

// False when the walk cannot be recorded (a directory changed within the
// last second, or an odd path).
bool store_suffix_record(const std::string& record, const std::string& root,
                         const std::string& suffix,
                         const std::vector<std::string>& dirs) {
  std::string data = std::string(k_suffix_format) + "\n" + root + "\n" + suffix + "\n";
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const long long recent = (now.tv_sec - 1) * 1000000000LL + now.tv_nsec;
  for (size_t i = 0; i < dirs.size(); ++i) {
    long long ctime_ns = 0;
    std::string stamp = dir_stamp(dirs[i], i == 0, &ctime_ns);
    // A change within the last second could share its timestamp with the
    // state we read; a newline in a path would break the format.
    if (stamp == "-" || ctime_ns > recent || dirs[i].find('\n') != std::string::npos) {
      return false;
    }
    data += stamp + "\t" + dirs[i] + "\n";
  }
  write_cache_record(record, data);
  return true;
}

} // namespace

std::string module_compression_suffix(const Context& ctx, const std::string& kernel,
                                      SuffixCheck check) {
  // Per process, and across runs through a record in the dkms tree: the
  // walk covers a whole kernel's modules (thousands of files, about a
  // thousand directories) and callers ask once per module.
  struct Known {
    std::string suffix;
    SuffixCheck checked;
  };
  static std::map<std::string, Known> memo;
  const std::string root = ctx.settings.install_tree + "/" + kernel + "/";
  auto hit = memo.find(root);
  if (hit != memo.end() && (hit->second.checked == SuffixCheck::every_directory ||
                            check == SuffixCheck::top_levels)) {
    return hit->second.suffix;
  }
  const std::string record = ctx.settings.dkms_tree + "/.module-suffix-" + kernel;
  if (auto known = load_suffix_record(record, root, check)) {
    memo[root] = {*known, check};
    return *known;
  }
  bool found[3] = {false, false, false};
  std::vector<std::string> visited;
  scan_module_suffixes(root, 0, found, &visited);
  // Later checks win, as in upstream: zst over xz over gz.
  std::string suffix = found[0] ? ".zst" : found[1] ? ".xz" : found[2] ? ".gz" : "";
  memo[root] = {suffix, SuffixCheck::every_directory};
  if (!visited.empty() && util::is_dir(ctx.settings.dkms_tree) &&
      !store_suffix_record(record, root, suffix, visited)) {
    // A stale record must not outlive a walk that disagreed with it: the
    // top-levels check alone could still find it valid.
    unlink(record.c_str());
  }
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
