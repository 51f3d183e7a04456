#include "core/dkms_conf.hpp"

#include "core/conf_cache.hpp"
#include "core/dkms_conf_shell.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/modinfo.hpp"
#include "core/subprocess.hpp"
#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <iterator>
#include <regex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {
bool has_parent_component(const std::string& path) {
  for (const auto& part : util::split(path, '/')) {
    if (part == "..") {
      return true;
    }
  }
  return false;
}
} // namespace

namespace {

// Upstream's accepted dkms.conf names, in its order and line layout (SPEC
// §3.2). The layout matters only because a sourced file sees this exact
// text as "$1".
constexpr const char* k_accepted_names_text =
    "PACKAGE_NAME\n"
    "   PACKAGE_VERSION POST_ADD POST_BUILD POST_INSTALL POST_REMOVE PRE_BUILD\n"
    "   PRE_INSTALL BUILD_DEPENDS BUILD_EXCLUSIVE_ARCH BUILD_EXCLUSIVE_CONFIG\n"
    "   BUILD_EXCLUSIVE_KERNEL BUILD_EXCLUSIVE_KERNEL_MIN BUILD_EXCLUSIVE_KERNEL_MAX\n"
    "   build_exclude OBSOLETE_BY MAKE MAKE_MATCH\n"
    "   PATCH PATCH_MATCH patch_array BUILT_MODULE_NAME\n"
    "   built_module_name BUILT_MODULE_LOCATION built_module_location\n"
    "   DEST_MODULE_NAME dest_module_name\n"
    "   DEST_MODULE_LOCATION dest_module_location\n"
    "   STRIP strip AUTOINSTALL NO_WEAK_MODULES BUILD_DEPENDS_REBUILD\n"
    "\n"
    "   CLEAN\n"
    "   REMAKE_INITRD MODULES_CONF MODULES_CONF_OBSOLETES\n"
    "   MODULES_CONF_ALIAS_TYPE MODULES_CONF_OBSOLETE_ONLY";

const std::vector<std::string>& accepted_names() {
  static const std::vector<std::string> names = util::split_words(k_accepted_names_text);
  return names;
}

// Element i of a (possibly absent) array; bash gives "" for unset elements.
std::string element(const ShellValues& values, const std::string& name, unsigned i = 0) {
  auto a = values.find(name);
  if (a == values.end()) {
    return {};
  }
  auto e = a->second.find(i);
  return e == a->second.end() ? std::string() : e->second;
}

const ConfArray& array(const ShellValues& values, const std::string& name) {
  static const ConfArray empty;
  auto a = values.find(name);
  return a == values.end() ? empty : a->second;
}

std::string main_file_for(const Context& ctx, const ConfRequest& request) {
  if (!request.main_file.empty()) {
    return request.main_file;
  }
  if (!ctx.opts.conf_file.empty()) {
    return ctx.opts.conf_file;
  }
  return ctx.settings.dkms_tree + "/" + request.module + "/" + request.version +
         "/source/dkms.conf";
}

// The override chain after the main file (SPEC §3.1), existing files only.
std::vector<std::string> conf_chain(const Context& ctx, const ConfRequest& request,
                                    const std::string& main_file) {
  std::vector<std::string> chain = {main_file};
  for (const std::string& file : conf_override_candidates(ctx, request)) {
    if (util::exists(file)) {
      chain.push_back(file);
    }
  }
  return chain;
}

// A --directive value splits at the first '='; without one, name and value
// are both the whole text (upstream's %%=* and #*=).
std::pair<std::string, std::string> split_directive(const std::string& directive) {
  size_t eq = directive.find('=');
  if (eq == std::string::npos) {
    return {directive, directive};
  }
  return {directive.substr(0, eq), directive.substr(eq + 1)};
}

// Upstream unsets the accepted names in its own shell, which also drops
// them from the environment that make and scripts inherit.
void drop_accepted_names_from_environment() {
  for (const auto& name : accepted_names()) {
    unsetenv(name.c_str());
  }
}

ShellValues evaluate(Context& ctx, const ConfRequest& request,
                     const std::string& main_file) {
  ShellChain chain;
  chain.variables = conf_shell_variables(ctx, request);
  chain.names = accepted_names();
  chain.unset_names_first = true;
  chain.positional = k_accepted_names_text;
  chain.files = conf_chain(ctx, request, main_file);
  chain.deprecation_warnings = request.strictness == Strictness::strict;
  for (const auto& d : ctx.opts.directives) {
    chain.directives.push_back(split_directive(d));
  }

  drop_accepted_names_from_environment();
  ShellValues values = evaluate_chain(ctx, chain);
  for (const auto& [name, value] : chain.directives) {
    setenv(name.c_str(), value.c_str(), 1);
    ctx.out.line("DIRECTIVE: " + name + "=\"" + value + "\"");
  }
  return values;
}

bool ends_in_object(const std::string& name) {
  return util::ends_with(name, ".o") || util::ends_with(name, ".ko");
}

// The module records (SPEC §3.4 step 2-4); false if any record is invalid.
bool build_slots(const Context& ctx, ShellValues& values, DkmsConf& conf) {
  Output& out = ctx.out;
  bool ok = true;
  long max_index = -1;
  for (const char* name : {"BUILT_MODULE_NAME", "BUILT_MODULE_LOCATION",
                           "DEST_MODULE_NAME", "DEST_MODULE_LOCATION"}) {
    const ConfArray& a = array(values, name);
    if (!a.empty()) {
      max_index = std::max<long>(max_index, a.rbegin()->first);
    }
  }
  const unsigned n = static_cast<unsigned>(max_index + 1);
  const std::string package_name = element(values, "PACKAGE_NAME");

  // The lowercase arrays may be pre-set by a conf; upstream overwrites
  // indices below n only, which is what the length check below detects.
  ConfArray& built_name = values["built_module_name"];
  ConfArray& built_location = values["built_module_location"];
  ConfArray& dest_name = values["dest_module_name"];
  ConfArray& dest_location = values["dest_module_location"];
  ConfArray& strip = values["strip"];
  for (unsigned i = 0; i < n; ++i) {
    built_name[i] = element(values, "BUILT_MODULE_NAME", i);
    built_location[i] = element(values, "BUILT_MODULE_LOCATION", i);
    dest_name[i] = element(values, "DEST_MODULE_NAME", i);
    const std::string raw_location = element(values, "DEST_MODULE_LOCATION", i);
    const std::string strip_value = element(values, "STRIP", i);
    if (!strip_value.empty() && (strip_value[0] == 'n' || strip_value[0] == 'N')) {
      strip[i] = "no";
    } else if (!strip_value.empty() && (strip_value[0] == 'y' || strip_value[0] == 'Y')) {
      strip[i] = "yes";
    } else if (strip_value.empty()) {
      auto s0 = strip.find(0);
      strip[i] = s0 == strip.end() || s0->second.empty() ? "yes" : s0->second;
    }
    if (built_name[i].empty() && n == 1) {
      built_name[i] = package_name;
    }
    if (dest_name[i].empty()) {
      dest_name[i] = built_name[i];
    }
    if (!built_location[i].empty() && built_location[i].back() != '/') {
      built_location[i] += '/';
    }
    const std::string prefix = "dkms.conf: Error! ";
    const std::string record = " record #" + std::to_string(i) + ".";
    if (built_name[i].empty()) {
      out.err_line(prefix + "No 'BUILT_MODULE_NAME' directive specified for" + record);
      ok = false;
    }
    if (ends_in_object(built_name[i])) {
      out.err_line(prefix + "'BUILT_MODULE_NAME' directive ends in '.o' or '.ko' in" +
                   record);
      ok = false;
    }
    if (ends_in_object(dest_name[i])) {
      out.err_line(prefix + "'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in" +
                   record);
      ok = false;
    }
    dest_location[i] = effective_location(ctx, raw_location);
    if (raw_location.empty()) {
      out.err_line(prefix + "No 'DEST_MODULE_LOCATION' directive specified for" + record);
      ok = false;
    } else if (!util::starts_with(raw_location, "/kernel") &&
               !util::starts_with(raw_location, "/updates") &&
               !util::starts_with(raw_location, "/extra")) {
      out.err_line(prefix + "Directive 'DEST_MODULE_LOCATION' does not begin with");
      out.err_line("'/kernel', '/updates', or '/extra' in" + record);
      ok = false;
    }
    // Beyond upstream, which would follow such values out of the build and
    // module trees: names are plain file names, locations stay below their
    // roots.
    for (const auto& [directive, value] :
         {std::pair<const char*, const std::string&>{"BUILT_MODULE_NAME", built_name[i]},
          {"DEST_MODULE_NAME", dest_name[i]}}) {
      if (value.find_first_of("/ \t\n") != std::string::npos || value == "." ||
          value == "..") {
        out.err_line(prefix + "Directive '" + directive +
                     "' must be a plain file name (no '/', blank or newline) in" +
                     record);
        ok = false;
      }
    }
    for (const auto& [directive, value] :
         {std::pair<const char*, const std::string&>{"BUILT_MODULE_LOCATION",
                                                     built_location[i]},
          {"DEST_MODULE_LOCATION", raw_location}}) {
      if (has_parent_component(value) ||
          value.find_first_of(" \t\n") != std::string::npos) {
        out.err_line(prefix + "Directive '" + directive +
                     "' must not contain '..' components, blanks or newlines in" +
                     record);
        ok = false;
      }
    }

    ModuleSlot slot;
    slot.built_name = built_name[i];
    slot.built_location = built_location[i];
    slot.dest_name = dest_name[i];
    slot.dest_location = raw_location;
    slot.install_location = dest_location[i];
    auto s = strip.find(i);
    slot.strip = s == strip.end() || s->second != "no";
    conf.modules.push_back(std::move(slot));
  }
  for (const ConfArray* a : {&built_name, &built_location, &dest_name, &dest_location}) {
    if (a->size() != n) {
      out.err_line("dkms.conf: Error! Module name/location array length mismatch.");
      ok = false;
    }
  }
  return ok;
}

// readelf's answer for a vmlinux, once per process and file version: one
// run evaluates the conf several times, and readelf reads the whole image.
bool built_with_clang(const std::string& vmlinux) {
  static std::map<std::string, bool> memo;
  struct stat st;
  std::string key = vmlinux;
  if (stat(vmlinux.c_str(), &st) == 0) {
    key += "\n" + std::to_string(st.st_ino) + " " + std::to_string(st.st_size) + " " +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  auto hit = memo.find(key);
  if (hit != memo.end()) {
    return hit->second;
  }
  // The section itself, read in place (readelf took ~0.2 s on a 6 MB
  // image); readelf only for what is not a well-formed ELF file.
  std::optional<bool> clang;
  int fd = open(vmlinux.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat fst;
    if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size > 0) {
      size_t size = static_cast<size_t>(fst.st_size);
      void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map != MAP_FAILED) {
        if (auto comment =
                elf_section({static_cast<const char*>(map), size}, ".comment")) {
          clang = comment->find("clang") != std::string_view::npos;
        }
        munmap(map, size);
      }
    }
    close(fd);
  }
  if (!clang) {
    clang = run_capture({"readelf", "-p", ".comment", vmlinux}).output.find("clang") !=
            std::string::npos;
  }
  memo[key] = *clang;
  return *clang;
}

// SPEC §3.6: the make command before the build-time "make -jN" injection.
std::string choose_make(const Context& ctx, const ShellValues& values,
                        const ConfRequest& request) {
  const std::string& k = request.target.kernel;
  std::string command;
  if (element(values, "MAKE_MATCH").empty()) {
    command = element(values, "MAKE");
  }
  // Upstream loops over the element count, not the highest index.
  const unsigned count = static_cast<unsigned>(array(values, "MAKE").size());
  for (unsigned i = 0; i < count; ++i) {
    const std::string make = element(values, "MAKE", i);
    const std::string match = element(values, "MAKE_MATCH", i);
    if (!make.empty() && !match.empty() && util::ere_search(match, k)) {
      command = make;
    }
  }
  const std::string ksrc = kernel_source_dir(ctx, k);
  if (command.empty()) {
    command = "make -C " + ksrc + " M=" + ctx.settings.dkms_tree + "/" + request.module +
              "/" + request.version + "/build";
  }
  const std::string vmlinux = ksrc + "/vmlinux";
  if (util::exists(vmlinux)) {
    if (built_with_clang(vmlinux)) {
      command += " LLVM=1";
    }
  } else {
    const std::string kconf = kernel_config(ctx, k);
    const auto& text = kernel_config_text(kconf);
    if (text && text->find("CONFIG_CC_IS_CLANG=y") != std::string::npos) {
      command += " LLVM=1";
    }
  }
  return command;
}

// SPEC §3.7. A conf may pre-set patch_array; upstream overwrites from index 0.
std::vector<std::string> choose_patches(const ShellValues& values, const std::string& k) {
  ConfArray selected = array(values, "patch_array");
  unsigned next = 0;
  const unsigned count = static_cast<unsigned>(array(values, "PATCH").size());
  for (unsigned i = 0; i < count; ++i) {
    const std::string patch = element(values, "PATCH", i);
    const std::string match = element(values, "PATCH_MATCH", i);
    if (!patch.empty() && (match.empty() || util::ere_search(match, k))) {
      selected[next++] = patch;
    }
  }
  std::vector<std::string> patches;
  for (const auto& [index, patch] : selected) {
    patches.push_back(patch);
  }
  return patches;
}

// grep -q "^WORD=[ym]": WORD is a basic regular expression, as in upstream.
bool kconfig_line_matches(const std::string& kconfig_text, const std::string& word) {
  regex_t re;
  std::string pattern = "^" + word + "=[ym]";
  if (regcomp(&re, pattern.c_str(), REG_NOSUB | REG_NEWLINE) != 0) {
    return false;
  }
  bool found = regexec(&re, kconfig_text.c_str(), 0, nullptr, 0) == 0;
  regfree(&re);
  return found;
}

// SPEC §3.8.
bool is_excluded(const Context& ctx, ShellValues& values, const KernelArch& target) {
  const std::string& k = target.kernel;
  bool excluded = !element(values, "build_exclude").empty();
  const std::string obsolete_by = element(values, "OBSOLETE_BY");
  if (!obsolete_by.empty() && element(values, "BUILD_EXCLUSIVE_KERNEL_MAX").empty()) {
    values["BUILD_EXCLUSIVE_KERNEL_MAX"][0] = obsolete_by;
  }
  const std::string kernel_re = element(values, "BUILD_EXCLUSIVE_KERNEL");
  const std::string min = element(values, "BUILD_EXCLUSIVE_KERNEL_MIN");
  const std::string max = element(values, "BUILD_EXCLUSIVE_KERNEL_MAX");
  const std::string arch_re = element(values, "BUILD_EXCLUSIVE_ARCH");
  const std::string configs = element(values, "BUILD_EXCLUSIVE_CONFIG");
  excluded = excluded || (!kernel_re.empty() && !util::ere_search(kernel_re, k));
  excluded = excluded || (!min.empty() && ver_compare(k, min) < 0);
  excluded = excluded || (!max.empty() && ver_compare(k, max) > 0);
  excluded = excluded || (!arch_re.empty() && !util::ere_search(arch_re, target.arch));
  const std::string kconf = kernel_config(ctx, k);
  if (!configs.empty() && util::exists(kconf)) {
    const std::string& text = kernel_config_text(kconf).value_or("");
    for (const auto& word : util::split_words(configs)) {
      if (word[0] == '!') {
        excluded = excluded || kconfig_line_matches(text, word.substr(1));
      } else {
        excluded = excluded || !kconfig_line_matches(text, word);
      }
    }
  }
  if (excluded) {
    values["build_exclude"][0] = "yes";
  }
  return excluded;
}

// upstream's check_yes_no_value: "yes" (any case) on, "no"/"" off.
bool yes_no(const Context& ctx, ShellValues& values, const std::string& name, bool& ok) {
  const std::string value = element(values, name);
  std::string lower;
  for (char c : value) {
    lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (value.empty()) {
    return false;
  }
  if (lower == "yes") {
    return true;
  }
  if (lower == "no") {
    values[name][0] = "";
    return false;
  }
  ctx.out.err_line("dkms.conf: Error! Unsupported " + name + " value '" + value + "'");
  ok = false;
  return false;
}

std::optional<DkmsConf> post_process(Context& ctx, const ConfRequest& request,
                                     const std::string& main_file, ShellValues values) {
  DkmsConf conf;
  conf.path = main_file;
  conf.package_name = element(values, "PACKAGE_NAME");
  conf.package_version = element(values, "PACKAGE_VERSION");
  conf.pre_build = element(values, "PRE_BUILD");
  conf.post_build = element(values, "POST_BUILD");
  conf.pre_install = element(values, "PRE_INSTALL");
  conf.post_install = element(values, "POST_INSTALL");
  conf.post_add = element(values, "POST_ADD");
  conf.post_remove = element(values, "POST_REMOVE");
  conf.obsolete_by = element(values, "OBSOLETE_BY");
  for (const auto& [index, name] : array(values, "BUILD_DEPENDS")) {
    conf.build_depends.push_back(name);
  }

  bool ok = true;
  if (conf.package_name.empty()) {
    ctx.out.err_line("dkms.conf: Error! No 'PACKAGE_NAME' directive specified.");
    ok = false;
  }
  if (conf.package_version.empty()) {
    ctx.out.err_line("dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.");
    ok = false;
  }
  ok = build_slots(ctx, values, conf) && ok;
  conf.make_command = choose_make(ctx, values, request);
  conf.patches = choose_patches(values, request.target.kernel);
  conf.excluded = is_excluded(ctx, values, request.target);
  conf.autoinstall = yes_no(ctx, values, "AUTOINSTALL", ok);
  conf.build_depends_rebuild = yes_no(ctx, values, "BUILD_DEPENDS_REBUILD", ok);
  conf.no_weak_modules = yes_no(ctx, values, "NO_WEAK_MODULES", ok);
  std::erase_if(values, [](const auto& entry) { return entry.second.empty(); });
  conf.raw = std::move(values);
  if (!ok) {
    return std::nullopt;
  }
  return conf;
}

// read_conf_strict()'s extra checks (SPEC §3.5).
bool strict_checks(const Context& ctx, const DkmsConf& conf) {
  if (conf.modules.empty()) {
    ctx.out.err_line("dkms.conf: Warning! Zero modules specified.");
  }
  bool ok = true;
  // Upstream matches " name " inside a space-joined list; keep that.
  auto check = [&](const std::string& field, auto key_of) {
    std::string names;
    for (size_t i = 0; i < conf.modules.size(); ++i) {
      const std::string key = key_of(conf.modules[i]);
      if ((" " + names + " ").find(" " + key + " ") != std::string::npos) {
        ctx.out.err_line("dkms.conf: Error! Duplicate module '" + key + "' in '" + field +
                         "[" + std::to_string(i) + "]'.");
        ok = false;
      }
      names += " " + key;
    }
  };
  check("BUILT_MODULE_NAME",
        [](const ModuleSlot& s) { return s.built_location + s.built_name; });
  check("DEST_MODULE_NAME", [](const ModuleSlot& s) { return s.dest_name; });
  return ok;
}

// True for a readable file whose lines are all blank (spaces, tabs) or
// comments: bash runs nothing in it. A CR alone is a command to bash.
bool only_comments(const std::string& path) {
  auto text = util::read_file(path);
  if (!text || text->find('\0') != std::string::npos) {
    return false;
  }
  for (const auto& line : util::split(*text, '\n')) {
    size_t start = line.find_first_not_of(" \t");
    if (start != std::string::npos && line[start] != '#') {
      return false;
    }
  }
  return true;
}

} // namespace

const std::vector<std::string>& conf_accepted_names() {
  return accepted_names();
}

std::span<const std::string_view> deprecated_conf_names() {
  // In the order the evaluator checks them.
  static constexpr std::string_view k_deprecated[] = {"CLEAN",
                                                      "REMAKE_INITRD",
                                                      "MODULES_CONF",
                                                      "MODULES_CONF_OBSOLETES",
                                                      "MODULES_CONF_ALIAS_TYPE",
                                                      "MODULES_CONF_OBSOLETE_ONLY"};
  return k_deprecated;
}

bool is_deprecated_conf_name(std::string_view name) {
  auto names = deprecated_conf_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::pair<std::string, std::string>>
conf_shell_variables(const Context& ctx, const ConfRequest& request) {
  const std::string& k = request.target.kernel;
  return {
      {"kernelver", k},
      {"arch", request.target.arch},
      {"kernel_source_dir", kernel_source_dir(ctx, k)},
      {"kernel_config", kernel_config(ctx, k)},
      {"dkms_tree", ctx.settings.dkms_tree},
      {"source_tree", ctx.settings.source_tree},
      {"install_tree", ctx.settings.install_tree},
      {"tmp_location", ctx.settings.tmp_location},
      {"module", request.module},
      {"module_version", request.version},
      {"parallel_jobs", ctx.settings.parallel_jobs},
      {"verbose", ctx.settings.verbose},
      {"force", ctx.opts.force ? "true" : ""},
      {"running_distribution", ctx.distro},
      {"current_kernel", ctx.current_kernel},
  };
}

std::vector<std::string> conf_override_candidates(const Context& ctx,
                                                  const ConfRequest& request) {
  const std::string base = ctx.sys.etc_dkms + "/" + request.module;
  const std::string& v = request.version;
  const std::string& k = request.target.kernel;
  const std::string& a = request.target.arch;
  return {base + ".conf",
          base + "-" + v + ".conf",
          base + "-" + v + "-" + k + ".conf",
          base + "-" + v + "-" + k + "-" + a + ".conf",
          base + "--" + k + ".conf",
          base + "--" + k + "-" + a + ".conf"};
}

std::optional<DkmsConf> read_dkms_conf(Context& ctx, const ConfRequest& request,
                                       ConfCache* cache, ConfEvaluation* evaluation) {
  const std::string main_file = main_file_for(ctx, request);
  if (access(main_file.c_str(), R_OK) != 0) {
    die(ctx.out, 4,
        {"Could not locate dkms.conf file.", "File: " + main_file + " does not exist."});
  }
  const std::string key = request.module + "/" + request.version + "/" +
                          request.target.kernel + "/" + request.target.arch + "\n" +
                          util::real_path(main_file).value_or(main_file);
  std::optional<DkmsConf> conf;
  if (cache != nullptr && cache->conf && cache->key == key) {
    conf = cache->conf;
  } else {
    ShellValues values;
    if (evaluation != nullptr && evaluation->recorded != nullptr) {
      drop_accepted_names_from_environment();
      values = *evaluation->recorded;
    } else {
      values = evaluate(ctx, request, main_file);
      if (evaluation != nullptr) {
        evaluation->evaluated = values;
      }
    }
    conf = post_process(ctx, request, main_file, std::move(values));
    if (!conf) {
      return std::nullopt;
    }
    if (cache != nullptr) {
      cache->key = key;
      cache->conf = conf;
    }
  }
  if (request.strictness == Strictness::strict && !strict_checks(ctx, *conf)) {
    return std::nullopt;
  }
  return conf;
}

DkmsConf require_dkms_conf(Context& ctx, const ConfRequest& request, ConfCache* cache,
                           const std::string& bad_conf_path, ConfEvaluation* evaluation) {
  auto conf = read_dkms_conf(ctx, request, cache, evaluation);
  if (!conf) {
    die(ctx.out, 8,
        {"Bad conf file.",
         "File: " + bad_conf_path + " does not represent a valid dkms.conf file."});
  }
  return std::move(*conf);
}

std::string effective_location(const Context& ctx, const std::string& dest_location) {
  if (!ctx.addon_modules_dir.empty()) {
    return "/" + ctx.addon_modules_dir;
  }
  const std::string& d = ctx.distro;
  if (distro_matches(d, "fedora*") || distro_matches(d, "rhel*") ||
      distro_matches(d, "ovm*")) {
    return "/extra";
  }
  if (distro_matches(d, "sles*") || distro_matches(d, "suse*") ||
      distro_matches(d, "opensuse*")) {
    return "/updates";
  }
  if (distro_matches(d, "debian*") || distro_matches(d, "ubuntu*") ||
      distro_matches(d, "arch*")) {
    return "/updates/dkms";
  }
  return dest_location;
}

std::map<std::string, std::string> read_framework(const Context& ctx,
                                                  const std::vector<std::string>& names,
                                                  const std::string& kernelver) {
  const std::string& etc = ctx.sys.etc_dkms;
  ShellChain chain;
  if (util::exists(etc + "/framework.conf")) {
    chain.files.push_back(etc + "/framework.conf");
  }
  const std::string dropins = etc + "/framework.conf.d";
  for (const auto& name : util::list_dir(dropins)) {
    if (util::glob_match("*.conf", name)) {
      chain.files.push_back(dropins + "/" + name);
    }
  }
  if (chain.files.empty()) {
    return {};
  }
  // Upstream's shell holds these (reset at start-up, so the environment
  // cannot supply them); the others come from the environment if unset here.
  const Settings& s = ctx.settings;
  chain.variables = {
      {"source_tree", s.source_tree},
      {"dkms_tree", s.dkms_tree},
      {"install_tree", s.install_tree},
      {"tmp_location", s.tmp_location},
      {"verbose", s.verbose},
      {"symlink_modules", s.symlink_modules},
      {"compress_gzip_opts", s.compress_gzip_opts},
      {"compress_xz_opts", s.compress_xz_opts},
      {"compress_zstd_opts", s.compress_zstd_opts},
  };
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{"autoinstall_all_kernels",
                                                   s.autoinstall_all_kernels},
        {"modprobe_on_install", s.modprobe_on_install},
        {"parallel_jobs", s.parallel_jobs},
        {"post_transaction", s.post_transaction},
        {"kernelver", kernelver}}) {
    if (!value.empty()) {
      chain.variables.emplace_back(name, value);
    }
  }
  chain.names = names;
  chain.positional = util::join(names, " ");
  std::map<std::string, std::string> result;
  if (std::all_of(chain.files.begin(), chain.files.end(), only_comments)) {
    // The shipped framework.conf: sourcing it assigns nothing, so bash
    // would hand back what it started with, ours first, else the
    // environment's.
    for (const auto& name : names) {
      auto v = std::find_if(chain.variables.begin(), chain.variables.end(),
                            [&](const auto& entry) { return entry.first == name; });
      if (v != chain.variables.end()) {
        result[name] = v->second;
      } else if (const char* env = getenv(name.c_str())) {
        result[name] = env;
      }
    }
    return result;
  }
  for (const auto& [name, values] : evaluate_chain(ctx, chain)) {
    auto e = values.find(0);
    if (e != values.end()) {
      result[name] = e->second;
    }
  }
  return result;
}

} // namespace core
