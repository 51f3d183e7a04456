#pragma once

#include "core/output.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

// One Context per run: what the command line asked for, the configured
// locations and settings, and where output goes. Passed explicitly instead
// of upstream's shell globals.
namespace core {

struct Options {
  std::string action;
  std::string module;
  std::string version;
  std::vector<std::string> kernels; // -k, in order
  std::vector<std::string> arches;  // -a and the /A of -k K/A
  std::string conf_file;            // -c
  std::string template_kernel;      // --templatekernel
  std::string kernel_config;        // --config
  std::string archive;              // --archive or a positional file
  std::string kernel_source_dir;    // --kernelsourcedir
  std::string source_dir;           // a positional source tree (with "./" appended)
  std::vector<std::string> directives;
  bool force = false;
  bool force_version_override = false;
  bool all = false;
  bool binaries_only = false;
  bool source_only = false;
  bool rpm_safe_upgrade = false;
};

// framework.conf values (SPEC §4.2) after environment, files and options.
struct Settings {
  std::string dkms_tree = "/var/lib/dkms";
  std::string source_tree = "/usr/src";
  std::string install_tree = "/lib/modules";
  std::string tmp_location = "/tmp";
  std::string verbose;
  std::string symlink_modules;
  std::string autoinstall_all_kernels;
  std::string modprobe_on_install;
  std::string parallel_jobs;
  std::string compress_gzip_opts;
  std::string compress_xz_opts = "--check=crc32 --lzma2=dict=1MiB";
  std::string compress_zstd_opts = "-q --rm -T0";
  std::string post_transaction;
  bool no_depmod = false;
};

// Where system files live; tests point these into a temporary root.
struct SystemPaths {
  std::string etc_dkms = "/etc/dkms";
  std::string os_release = "/etc/os-release";
  std::string os_release_fallback = "/usr/lib/os-release";
  std::string force_install_dir = "/usr/share/dkms/modules_to_force_install";
  std::string boot = "/boot";
  std::string modules_load_service = "/lib/systemd/system/systemd-modules-load.service";
};

// A pair of kernel release and architecture: one unit of work.
struct KernelArch {
  std::string kernel;
  std::string arch;
};

class Context {
public:
  explicit Context(Output& output) : out(output) {}

  Output& out;
  std::string argv0 = "dkms";
  Options opts;
  Settings settings;
  SystemPaths sys;
  std::string distro;         // SPEC §0.5
  std::string current_kernel; // uname -r
  std::string machine;        // uname -m
  std::string addon_modules_dir;
  std::vector<KernelArch> targets; // resolved kernel/arch pairs (SPEC §1.5)

  // Weak-module helper commands (RHEL/SUSE); empty elsewhere.
  std::string weak_modules_add;
  std::string weak_modules_remove;

  // kernel_preinst/prerm defer depmod to the end of the run.
  bool defer_depmod = false;

  bool verbose() const { return !settings.verbose.empty(); }

  // Upstream's "make -j<n>" value; empty means a bare -j.
  std::string parallel_jobs() const { return settings.parallel_jobs; }
};

} // namespace core
