#pragma once

#include "core/context.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

// dkms.conf evaluation with upstream 3.2.2's semantics (SPEC §3): the files
// are sourced by bash, every value is expanded a second time, overrides in
// /etc/dkms are applied, and the result is validated.
namespace core {

// One BUILT_MODULE_NAME[i] record after defaults were applied (SPEC §3.4).
struct ModuleSlot {
  std::string built_name;       // BUILT_MODULE_NAME[i] (default PACKAGE_NAME if one slot)
  std::string built_location;   // BUILT_MODULE_LOCATION[i], "" or ending in '/'
  std::string dest_name;        // DEST_MODULE_NAME[i] (default built_name)
  std::string dest_location;    // raw DEST_MODULE_LOCATION[i]
  std::string install_location; // effective location after distro override (SPEC §7.1)
  bool strip = true;
};

// A sparse bash array: index -> value. Scalars are index 0.
using ConfArray = std::map<unsigned, std::string>;
// name -> index -> value, for every imported name that ends up set.
using ShellValues = std::map<std::string, ConfArray>;

struct DkmsConf {
  std::string path; // main file that was read
  std::string package_name;
  std::string package_version;
  std::vector<ModuleSlot> modules;
  std::string make_command; // chosen MAKE (SPEC §3.6), before the "make -jN" injection
  std::vector<std::string> patches; // chosen PATCH entries, in order
  bool excluded = false;            // BUILD_EXCLUSIVE_* / build_exclude (SPEC §3.8)
  bool autoinstall = false;
  bool build_depends_rebuild = false;
  bool no_weak_modules = false;
  std::vector<std::string> build_depends; // BUILD_DEPENDS elements in index order
  std::string obsolete_by;
  std::string pre_build, post_build, pre_install, post_install, post_add, post_remove;
  // Every accepted name that was set, with all its indices (for callers that
  // need something not modelled above).
  std::map<std::string, ConfArray> raw;
};

enum class Strictness { lenient, strict };

struct ConfRequest {
  std::string main_file; // explicit path of the call site, or empty (then -c, then
                         // DT/m/v/source/dkms.conf)
  std::string module;    // m (for /etc/dkms overrides and $module)
  std::string version;   // v
  KernelArch target;     // K and A ($kernelver, $arch)
  Strictness strictness = Strictness::lenient;
};

// Per-unit memo of the last successful evaluation (SPEC §3.1 "Cache").
struct ConfCache {
  std::string key;
  std::optional<DkmsConf> conf;
};

// How one read got its values, for the persistent record (conf_cache.hpp).
struct ConfEvaluation {
  // Use these as bash's answer instead of running it (an evaluation the
  // record proved identical).
  const ShellValues* recorded = nullptr;
  // Set when bash ran for this read: the values as it handed them back.
  std::optional<ShellValues> evaluated;
};

// Evaluates the chain for the request. Prints upstream's "dkms.conf: ..."
// messages, DIRECTIVE lines and deprecation warnings through ctx.out.
// Returns nullopt when the conf is invalid (messages already printed). A
// missing main file is fatal: prints the "Could not locate dkms.conf" error
// and throws Exit{4}.
std::optional<DkmsConf> read_dkms_conf(Context& ctx, const ConfRequest& request,
                                       ConfCache* cache = nullptr,
                                       ConfEvaluation* evaluation = nullptr);

// Like read_dkms_conf, but an invalid conf prints "Bad conf file." naming
// bad_conf_path and throws Exit{8}.
DkmsConf require_dkms_conf(Context& ctx, const ConfRequest& request, ConfCache* cache,
                           const std::string& bad_conf_path,
                           ConfEvaluation* evaluation = nullptr);

// Effective install location of a slot (SPEC §7.1).
std::string effective_location(const Context& ctx, const std::string& dest_location);

// framework.conf and framework.conf.d/*.conf (SPEC §4.1): evaluates the
// files like dkms.conf (bash, second expansion, CR stripping) and returns the
// requested names that were set. kernelver is visible as $kernelver.
std::map<std::string, std::string> read_framework(const Context& ctx,
                                                  const std::vector<std::string>& names,
                                                  const std::string& kernelver);

} // namespace core
