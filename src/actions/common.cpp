#include "actions/common.hpp"

#include "core/conf_cache.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace actions {

using core::die;

Unit make_unit(const core::Context& ctx, const core::KernelArch& target) {
  Unit u;
  u.module = ctx.opts.module;
  u.version = ctx.opts.version;
  u.target = target;
  u.force = ctx.opts.force;
  u.force_version_override = ctx.opts.force_version_override;
  return u;
}

void check_module_args(core::Context& ctx, const std::string& action, const Unit& unit) {
  if (!unit.module.empty() && !unit.version.empty()) {
    return;
  }
  die(ctx.out, 1,
      {"Arguments <module> and <module-version> are not specified.",
       "Usage: " + action + " <module>/<module-version> or",
       "       " + action + " -m <module>/<module-version> or",
       "       " + action + " -m <module> -v <module-version>"});
}

void die_if_broken(core::Context& ctx, const std::string& m, const std::string& v) {
  if (core::is_broken(ctx, m, v)) {
    die(ctx.out, 4,
        {m + "/" + v + " is broken!",
         "Missing the source directory or the symbolic link pointing to it.",
         "Manual intervention is required!"});
  }
}

void die_unless_added(core::Context& ctx, const std::string& m, const std::string& v) {
  if (!core::is_added(ctx, m, v)) {
    die(ctx.out, 3,
        {"The module/version combo: " + m + "/" + v +
         " is not located in the DKMS tree."});
  }
}

void check_root(core::Context& ctx) {
  if (geteuid() != 0) {
    die(ctx.out, 1, {"You must be root to use this command."});
  }
}

void check_rw_dkms_tree(core::Context& ctx) {
  if (access(ctx.settings.dkms_tree.c_str(), W_OK) != 0) {
    die(ctx.out, 1, {"No write access to DKMS tree at " + ctx.settings.dkms_tree});
  }
}

void check_all_is_banned(core::Context& ctx, const std::string& action) {
  if (ctx.opts.all) {
    die(ctx.out, 5, {"The action " + action + " does not support the --all parameter."});
  }
}

bool names_kernel_hook(std::string_view action) {
  for (std::string_view hook : {"kernel_preinst", "kernel_postinst", "kernel_prerm"}) {
    if (action.find(hook) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

void have_one_kernel(core::Context& ctx, const std::string& action) {
  check_all_is_banned(ctx, action);
  if (ctx.opts.kernels.size() != 1) {
    if (names_kernel_hook(action)) {
      die(ctx.out, 4,
          {"The action " + action +
           " requires exactly one kernel version parameter on the command line."});
    }
    die(ctx.out, 4,
        {"The action " + action +
         " does not support multiple kernel version parameters on the command line."});
  }
}

static core::ConfRequest request_for(const Unit& unit, const std::string& explicit_path,
                                     core::Strictness strictness) {
  core::ConfRequest req;
  req.main_file = explicit_path;
  req.module = unit.module;
  req.version = unit.version;
  req.target = unit.target;
  req.strictness = strictness;
  return req;
}

core::ConfRequest source_conf_request(const core::Context& ctx, const Unit& unit) {
  return request_for(unit,
                     core::source_link(ctx, unit.module, unit.version) + "/dkms.conf",
                     core::Strictness::lenient);
}

static std::string bad_conf_path(const core::Context& ctx,
                                 const std::string& explicit_path) {
  return explicit_path.empty() ? ctx.opts.conf_file : explicit_path;
}

// The unit's conf. Without -c, an explicit path or a --directive, through
// the persistent record (core/conf_cache.hpp): a recorded evaluation of the
// unchanged files is post-processed again instead of starting bash, and a
// fresh one is recorded when the trust rule allows. A caller passing its own
// evaluation keeps the record to itself.
static core::DkmsConf read_conf(core::Context& ctx, Unit& unit,
                                const std::string& explicit_path,
                                core::Strictness strictness,
                                core::ConfEvaluation* evaluation) {
  const std::string bad = bad_conf_path(ctx, explicit_path);
  if (evaluation != nullptr || !explicit_path.empty() || !ctx.opts.conf_file.empty() ||
      !ctx.opts.directives.empty()) {
    return core::require_dkms_conf(ctx, request_for(unit, explicit_path, strictness),
                                   &unit.conf_cache, bad, evaluation);
  }
  core::ConfRequest request = source_conf_request(ctx, unit);
  request.strictness = strictness;
  core::ConfRecord record(ctx, request);
  if (auto values = record.load_values()) {
    core::ConfEvaluation recorded;
    recorded.recorded = &*values;
    return core::require_dkms_conf(ctx, request, &unit.conf_cache, bad, &recorded);
  }
  return *record.read_through([&](core::ConfEvaluation& fresh) {
    return std::optional(
        core::require_dkms_conf(ctx, request, &unit.conf_cache, bad, &fresh));
  });
}

core::DkmsConf read_conf_or_die(core::Context& ctx, Unit& unit,
                                const std::string& explicit_path,
                                core::ConfEvaluation* evaluation) {
  return read_conf(ctx, unit, explicit_path, core::Strictness::lenient, evaluation);
}

core::DkmsConf read_conf_strict_or_die(core::Context& ctx, Unit& unit,
                                       const std::string& explicit_path) {
  return read_conf(ctx, unit, explicit_path, core::Strictness::strict, nullptr);
}

core::ShellVars shell_vars(const core::Context& ctx, const Unit& unit,
                           const core::DkmsConf* conf) {
  core::ShellVars vars = {
      {"module", unit.module},
      {"module_version", unit.version},
      {"kernelver", unit.target.kernel},
      {"arch", unit.target.arch},
      {"dkms_tree", ctx.settings.dkms_tree},
      {"source_tree", ctx.settings.source_tree},
      {"install_tree", ctx.settings.install_tree},
      {"tmp_location", ctx.settings.tmp_location},
      {"kernel_source_dir", core::kernel_source_dir(ctx, unit.target.kernel)},
      {"kernel_config", core::kernel_config(ctx, unit.target.kernel)},
      {"parallel_jobs", ctx.settings.parallel_jobs},
      {"verbose", ctx.settings.verbose},
      {"force", unit.force ? "true" : ""},
      {"running_distribution", ctx.distro},
      {"current_kernel", ctx.current_kernel},
  };
  if (conf != nullptr) {
    for (const auto& [name, arr] : conf->raw) {
      auto it = arr.find(0);
      if (it != arr.end()) {
        vars.push_back({name, it->second});
      }
    }
  }
  return vars;
}

int run_build_script(core::Context& ctx, const Unit& unit, const core::DkmsConf& conf,
                     const std::string& type, const std::string& script,
                     const std::string& log_file) {
  if (script.empty()) {
    return 0;
  }
  bool in_build = type == "pre_build" || type == "post_build";
  std::string dir = core::version_dir(ctx, unit.module, unit.version) +
                    (in_build ? "/build/" : "/source/");
  std::string run = dir + script;
  std::string program = run.substr(0, run.find(' '));
  if (!util::is_executable_file(program)) {
    ctx.out.line("");
    ctx.out.warning({"The " + type + " script is not executable."});
    return 0;
  }
  if (!log_file.empty()) {
    core::Invocation inv;
    inv.command = "cd " + dir + " && " + run;
    inv.description = "Running the " + type + " script";
    inv.log_file = log_file;
    inv.background = true;
    inv.package_name = conf.package_name;
    inv.vars = shell_vars(ctx, unit, &conf);
    int res = core::invoke(ctx, inv);
    if (res != 0) {
      ctx.out.line("Consult " + log_file + " for more information.");
      throw core::Exit{res};
    }
    return 0;
  }
  ctx.out.line("Running the " + type + " script:");
  if (!util::is_dir(dir)) {
    return 15;
  }
  // Upstream execs the unquoted text: split on blanks, no quote handling.
  core::ProcessSpec spec;
  spec.argv = util::split_words(run);
  spec.cwd = dir;
  if (ctx.out.capturing()) {
    spec.out = core::Sink::capture;
    spec.merge_stderr = true;
  } else {
    spec.out_fd = ctx.out.stdout_fd();
    spec.err_fd = ctx.out.stderr_fd();
  }
  auto r = core::run_process(spec);
  if (spec.out == core::Sink::capture) {
    ctx.out.out(r.output);
  }
  return r.status;
}

void setup_kernels_arches(core::Context& ctx) {
  auto& kernels = ctx.opts.kernels;
  auto& arches = ctx.opts.arches;
  if (ctx.opts.all) {
    std::vector<std::string> lines;
    for (const auto& e :
         core::built_entries(ctx, ctx.opts.module, ctx.opts.version, {}, {})) {
      lines.push_back(
          std::string(e.state == core::State::installed ? "installed " : "built ") +
          e.module + "/" + e.version + "/" + e.target.kernel + "/" + e.target.arch);
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const std::string& a, const std::string& b) {
                       return core::filevercmp(a, b) < 0;
                     });
    size_t i = 0;
    for (const auto& line : lines) {
      // "<state> m/v/K/A": drop "<state> m/" and "v/", split K/A at the last '/'.
      std::string rest = line.substr(line.find('/') + 1);
      rest = rest.substr(rest.find('/') + 1);
      size_t last = rest.rfind('/');
      std::string k = rest.substr(0, last);
      std::string a = rest.substr(rest.find('/') + 1);
      if (kernels.size() <= i) {
        kernels.resize(i + 1);
      }
      if (arches.size() <= i) {
        arches.resize(i + 1);
      }
      kernels[i] = k;
      arches[i] = a;
      ++i;
    }
  }
  if (kernels.empty() && !ctx.opts.all) {
    kernels.push_back(ctx.current_kernel);
  }
  if (arches.empty()) {
    if (core::distro_matches(ctx.distro, "debian*") ||
        core::distro_matches(ctx.distro, "ubuntu*") ||
        core::distro_matches(ctx.distro, "arch*") ||
        core::distro_matches(ctx.distro, "gentoo*")) {
      arches.push_back(ctx.machine);
    } else {
      std::string first = kernels.empty() ? std::string() : kernels[0];
      auto owner =
          core::run_capture({"rpm", "-qf", ctx.settings.install_tree + "/" + first});
      std::string pkg;
      for (const auto& l : util::split(owner.output, '\n')) {
        if (l.find("not owned by any package") == std::string::npos &&
            l.find("kernel") != std::string::npos) {
          pkg = l;
          break;
        }
      }
      auto q = core::run_capture({"rpm", "-q", "--queryformat", "%{ARCH}", pkg});
      if (q.status == 0) {
        arches.push_back(q.output);
      } else {
        std::string a = ctx.machine;
        if (a == "x86_64") {
          auto cpuinfo = util::read_file("/proc/cpuinfo");
          bool intel = cpuinfo && cpuinfo->find("Intel") != std::string::npos;
          bool ia32e = false;
          for (const auto& n : util::list_dir(ctx.settings.install_tree + "/" + first +
                                              "/build/configs")) {
            ia32e = ia32e || n.find("ia32e") != std::string::npos;
          }
          if (intel && ia32e) {
            a = "ia32e";
          }
        }
        arches.push_back(a);
      }
    }
  }
  if (arches.empty()) {
    die(ctx.out, 12, {"Could not determine architecture."});
  }
  if (arches.size() == 1 && kernels.size() > 1) {
    while (arches.size() < kernels.size()) {
      arches.push_back(arches[0]);
    }
  }
  for (size_t i = 0; i < kernels.size(); ++i) {
    if (kernels[i].empty()) {
      die(ctx.out, 16, {"Empty kernelver[" + std::to_string(i) + "]"});
    }
  }
  for (size_t i = 0; i < arches.size(); ++i) {
    if (arches[i].empty()) {
      die(ctx.out, 16, {"Empty arch[" + std::to_string(i) + "]"});
    }
  }
  ctx.targets.clear();
  for (size_t i = 0; i < kernels.size(); ++i) {
    ctx.targets.push_back({kernels[i], i < arches.size() ? arches[i] : std::string()});
  }
}

std::string grandparent_pid() {
  auto status = util::read_file("/proc/" + std::to_string(getppid()) + "/status");
  if (status) {
    for (const auto& line : util::split(*status, '\n')) {
      if (util::starts_with(line, "PPid:")) {
        return util::trim(line.substr(5));
      }
    }
  }
  return {};
}

std::optional<std::string> process_start_time(const std::string& pid) {
  auto ps = core::run_capture({"ps", "-o", "lstart", "--no-headers", "-p", pid});
  if (ps.status != 0) {
    return std::nullopt;
  }
  return ps.output;
}

} // namespace actions
