#pragma once

#include "core/context.hpp"
#include "core/dkms_conf.hpp"
#include "core/exit.hpp"
#include "core/module_index.hpp"
#include "core/runner.hpp"
#include "core/sign.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// State and checks shared by the action families. Upstream keeps these in
// shell globals that each per-kernel subshell copies; a Unit is that copy.
namespace actions {

struct Unit {
  std::string module;
  std::string version;
  core::KernelArch target;
  bool force = false;
  bool force_version_override = false;
  core::ConfCache conf_cache;
  std::string prepared; // "K/A" once kernel and signing were prepared
  core::SigningSetup signing;
  bool install_follows = false; // this build is install's: it asks IT/K next
};

// A fresh unit for target with the command line's module/version/--force.
Unit make_unit(const core::Context& ctx, const core::KernelArch& target);

// Upstream's check helpers (SPEC §2.0); each prints and throws core::Exit.
void check_module_args(core::Context& ctx, const std::string& action, const Unit& unit);
void die_if_broken(core::Context& ctx, const std::string& m, const std::string& v);
void die_unless_added(core::Context& ctx, const std::string& m, const std::string& v);
void check_root(core::Context& ctx);
void check_rw_dkms_tree(core::Context& ctx);
void check_all_is_banned(core::Context& ctx, const std::string& action);
void have_one_kernel(core::Context& ctx, const std::string& action);
// Upstream's [[ $action =~ kernel_(preinst|postinst|prerm) ]]: the name
// contains one of the kernel hook actions.
bool names_kernel_hook(std::string_view action);

// Non-strict / strict conf evaluation of the unit's pair, dying with 8 on
// an invalid conf ("Bad conf file."). explicit_path names the main file of
// this call site, if it has one. Without one (and without -c or
// --directive) the persistent conf record may answer instead of bash; a
// caller passing `evaluation` manages the record itself.
core::DkmsConf read_conf_or_die(core::Context& ctx, Unit& unit,
                                const std::string& explicit_path = {},
                                core::ConfEvaluation* evaluation = nullptr);
core::DkmsConf read_conf_strict_or_die(core::Context& ctx, Unit& unit,
                                       const std::string& explicit_path = {});

// Variables that commands run through the runner may refer to.
core::ShellVars shell_vars(const core::Context& ctx, const Unit& unit,
                           const core::DkmsConf* conf);

// Upstream's run_build_script (SPEC §3.9). type is "pre_build",
// "post_build", "post_add", "pre_install", "post_install" or "post_remove".
// With a log file a failing script ends the unit with the script's status
// (after "Consult <log> for more information."); without one the status is
// returned.
int run_build_script(core::Context& ctx, const Unit& unit, const core::DkmsConf& conf,
                     const std::string& type, const std::string& script,
                     const std::string& log_file = {});

// Runs fn as an isolated unit (upstream's subshell): a core::Exit ends
// only this unit and becomes its status. A module-index check the unit
// started ahead and did not use is not left to the next unit.
template <typename Fn> int run_unit(Fn&& fn) {
  int status = 0;
  try {
    fn();
  } catch (const core::Exit& e) {
    status = e.code;
  }
  core::drop_unused_module_index_checks();
  return status;
}

// Kernel/arch resolution of SPEC §1.5 (not for status).
void setup_kernels_arches(core::Context& ctx);

// The lenient request for the unit's own dkms.conf (through its source
// link), as status and the dependency check read it via the conf cache.
core::ConfRequest source_conf_request(const core::Context& ctx, const Unit& unit);

// The rpm_safe_upgrade lock (SPEC §2.1, §2.6) is keyed on the package
// manager process, dkms's grandparent: its pid ("" when unknown), and its
// start time as `ps -o lstart` prints it (nullopt when ps fails).
std::string grandparent_pid();
std::optional<std::string> process_start_time(const std::string& pid);

} // namespace actions
