// Start-up (SPEC §0.2), command-line parsing and dispatch. Everything below
// this file works on a core::Context and never sees argv.
#include "cli/main.hpp"

#include "actions/actions.hpp"
#include "actions/journal.hpp"
#include "cli/action_table.hpp"
#include "cli/options.hpp"
#include "core/dkms_conf.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/lock.hpp"
#include "core/runner.hpp"
#include "core/signals.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cli {

namespace {

struct ActionEntry {
  std::string_view name;
  int (*handler)(core::Context&);
  bool post_transaction; // run post_transaction after a successful run
};

#define DKMS_ACTION_ENTRY(name, post_transaction)                                        \
  {#name, actions::action_##name, post_transaction},
constexpr ActionEntry k_actions[] = {DKMS_ACTIONS(DKMS_ACTION_ENTRY)};
#undef DKMS_ACTION_ENTRY

const ActionEntry* find_action(std::string_view word) {
  for (const auto& entry : k_actions) {
    if (entry.name == word) {
      return &entry;
    }
  }
  return nullptr;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v != nullptr ? std::string(v) : fallback;
}

std::string cpu_count() {
  if (!util::exists("/usr/bin/nproc")) {
    return "1";
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    return std::to_string(CPU_COUNT(&set));
  }
  return std::to_string(sysconf(_SC_NPROCESSORS_ONLN));
}

// Upstream writes a line to a new file in $TMPDIR and reads it back, to
// warn early when it is full. An unnamed O_TMPFILE file does the same with
// half the system calls and nothing to remove; mkstemp where the file
// system has no O_TMPFILE.
void check_tmp_space(core::Context& ctx) {
  const std::string hello = "Hello, DKMS!\n";
  const auto write_and_read_back = [&hello](int fd) {
    char back[32];
    return write(fd, hello.data(), hello.size()) == static_cast<ssize_t>(hello.size()) &&
           pread(fd, back, sizeof back, 0) == static_cast<ssize_t>(hello.size()) &&
           hello.compare(0, hello.size(), back, hello.size()) == 0;
  };
  bool ok = false;
  int fd = open(ctx.settings.tmp_location.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ok = write_and_read_back(fd);
    close(fd);
  } else {
    std::string path = ctx.settings.tmp_location + "/dkms-check.XXXXXX";
    fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) {
      core::die(ctx.out, 1, {"Unable to make temporary file."});
    }
    unlink(path.c_str());
    ok = write_and_read_back(fd);
    close(fd);
  }
  if (!ok) {
    ctx.out.warning(
        {"dkms will not function properly without some free space in $TMPDIR (" +
         ctx.settings.tmp_location + ")."});
  }
}

void read_startup_framework(core::Context& ctx) {
  auto& s = ctx.settings;
  auto vars =
      core::read_framework(ctx,
                           {"source_tree", "dkms_tree", "install_tree", "tmp_location",
                            "verbose", "symlink_modules", "autoinstall_all_kernels",
                            "modprobe_on_install", "parallel_jobs", "compress_gzip_opts",
                            "compress_xz_opts", "compress_zstd_opts", "post_transaction"},
                           env_or("kernelver", ""));
  std::pair<const char*, std::string*> targets[] = {
      {"source_tree", &s.source_tree},
      {"dkms_tree", &s.dkms_tree},
      {"install_tree", &s.install_tree},
      {"tmp_location", &s.tmp_location},
      {"verbose", &s.verbose},
      {"symlink_modules", &s.symlink_modules},
      {"autoinstall_all_kernels", &s.autoinstall_all_kernels},
      {"modprobe_on_install", &s.modprobe_on_install},
      {"parallel_jobs", &s.parallel_jobs},
      {"compress_gzip_opts", &s.compress_gzip_opts},
      {"compress_xz_opts", &s.compress_xz_opts},
      {"compress_zstd_opts", &s.compress_zstd_opts},
      {"post_transaction", &s.post_transaction},
  };
  for (auto& [name, field] : targets) {
    auto it = vars.find(name);
    if (it != vars.end()) {
      *field = it->second;
    }
  }
}

void post_parse_checks(core::Context& ctx) {
  const auto& o = ctx.opts;
  if (o.binaries_only && o.source_only) {
    core::die(ctx.out, 8,
              {"You have specified both --binaries-only and --source-only.",
               "You cannot do this."});
  }
  if (o.kernels.size() != o.arches.size() && o.arches.size() > 1) {
    core::die(ctx.out, 1,
              {"If more than one arch is specified on the command line, then there",
               "must be an equal number of kernel versions also specified (1:1 "
               "relationship)."});
  }
  if (!o.kernels.empty() && o.all) {
    core::die(ctx.out, 2,
              {"You cannot specify a kernel version and also specify",
               "--all on the command line."});
  }
  if (!o.arches.empty() && o.all) {
    core::die(
        ctx.out, 3,
        {"You cannot specify an arch and also specify", "--all on the command line."});
  }
}

void run_post_transaction(core::Context& ctx) {
  std::string log = ctx.settings.dkms_tree + "/post_transaction.log";
  util::write_file_atomic(log, "");
  std::string kernel = ctx.opts.kernels.empty() ? std::string() : ctx.opts.kernels[0];
  auto vars = core::read_framework(ctx, {"post_transaction"}, kernel);
  auto it = vars.find("post_transaction");
  core::Invocation inv;
  inv.command = it == vars.end() ? ctx.settings.post_transaction : it->second;
  inv.description = "Executing post-transaction command";
  inv.log_file = log;
  inv.background = true;
  core::invoke(ctx, inv);
}

int run(core::Context& ctx, const std::vector<std::string>& args) {
  umask(022);
  core::install_signal_handlers();
  for (const char* name : {"CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS"}) {
    unsetenv(name);
  }
  struct utsname u;
  if (uname(&u) == 0) {
    ctx.current_kernel = u.release;
    ctx.machine = u.machine;
  }
  if (!core::detect_distro(ctx.sys, ctx.distro)) {
    core::die(ctx.out, 4, {"System is missing os-release file."});
  }
  auto& s = ctx.settings;
  s.tmp_location = env_or("TMPDIR", "/tmp");
  if (s.tmp_location.empty()) {
    s.tmp_location = "/tmp";
  }
  // Not reset by upstream at start-up, so they come from the environment.
  s.parallel_jobs = env_or("parallel_jobs", "");
  s.modprobe_on_install = env_or("modprobe_on_install", "");
  s.post_transaction = env_or("post_transaction", "");
  s.autoinstall_all_kernels = env_or("autoinstall_all_kernels", "");
  check_tmp_space(ctx);
  ctx.addon_modules_dir = env_or("ADDON_MODULES_DIR", "");
  if (ctx.addon_modules_dir.empty() && util::exists("/etc/sysconfig/module-init-tools")) {
    auto r = core::run_capture({"bash", "-c",
                                ". /etc/sysconfig/module-init-tools >/dev/null 2>&1; "
                                "printf %s \"$ADDON_MODULES_DIR\""});
    ctx.addon_modules_dir = r.output;
  }
  read_startup_framework(ctx);

  ParseResult parsed = parse_command_line(ctx, args);
  if (parsed.outcome == ParseOutcome::exit_now) {
    return parsed.exit_code;
  }
  post_parse_checks(ctx);
  if (s.parallel_jobs.empty()) {
    s.parallel_jobs = cpu_count();
  }
  if (s.parallel_jobs == "0") {
    s.parallel_jobs.clear(); // make gets a bare -j
  }
  const std::string& action = ctx.opts.action;
  if (actions::names_kernel_hook(action)) {
    actions::have_one_kernel(ctx, action);
  }
  if (action == "status") {
    auto& arches = ctx.opts.arches;
    if (arches.size() == 1 && ctx.opts.kernels.size() > 1) {
      arches.resize(ctx.opts.kernels.size(), arches[0]);
    }
  } else {
    actions::setup_kernels_arches(ctx);
  }
  if (getenv("NO_WEAK_MODULES") == nullptr || *getenv("NO_WEAK_MODULES") == '\0') {
    if (core::distro_matches(ctx.distro, "rhel*")) {
      ctx.weak_modules_add = "/usr/sbin/weak-modules --no-initramfs --add-modules";
      ctx.weak_modules_remove = "/usr/sbin/weak-modules --no-initramfs --remove-modules";
    } else if (core::distro_matches(ctx.distro, "sles*") ||
               core::distro_matches(ctx.distro, "suse*") ||
               core::distro_matches(ctx.distro, "opensuse*")) {
      // Upstream passes the literal text ${kernelver} here; we pass the kernel.
      std::string k = ctx.targets.empty() ? std::string() : ctx.targets[0].kernel;
      ctx.weak_modules_add =
          "/usr/lib/module-init-tools/weak-modules2 --add-kernel-modules " + k;
      ctx.weak_modules_remove =
          "/usr/lib/module-init-tools/weak-modules2 --remove-kernel-modules " + k;
    }
  }
  if (const ActionEntry* found = find_action(action)) {
    const ActionEntry& entry = *found;
    // Everything but status changes state (or must see a stable tree).
    core::LockMode mode = action == "status" || action == "mktarball"
                              ? core::LockMode::shared
                              : core::LockMode::exclusive;
    core::TreeLock lock(ctx, mode);
    const bool changes = mode == core::LockMode::exclusive && lock.held();
    if (changes) {
      actions::recover_interrupted_changes(ctx);
    }
    int rc = 0;
    try {
      rc = entry.handler(ctx);
    } catch (const core::Exit&) {
      if (changes) {
        actions::finish_changes(ctx);
      }
      throw;
    }
    if (changes) {
      actions::finish_changes(ctx);
    }
    if (rc == 0 && entry.post_transaction && !ctx.settings.post_transaction.empty()) {
      run_post_transaction(ctx);
    }
    return rc;
  }
  ctx.out.error({"Unknown action specified: \"" + action + "\""});
  print_usage(ctx);
  return 0;
}

} // namespace

int run_main(int argc, char** argv) {
  core::Output out;
  core::Context ctx(out);
  ctx.argv0 = argc > 0 ? argv[0] : "dkms";
  // Upstream is a script: its $0 is the path the kernel found, so a bare
  // "dkms" from PATH shows as /usr/sbin/dkms in the usage text.
  if (ctx.argv0.find('/') == std::string::npos) {
    std::string found = core::find_in_path(ctx.argv0);
    if (!found.empty()) {
      ctx.argv0 = found;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(ctx, args);
  } catch (const core::Exit& e) {
    return e.code;
  }
}

} // namespace cli
