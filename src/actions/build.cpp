// dkms build (SPEC §2.2, §6): compile a module for one kernel in the
// scratch build directory, then post-process (strip, sign, compress) and
// stage the results into DT/m/v/K/A atomically.
#include "actions/actions.hpp"
#include "core/compress.hpp"
#include "core/crash.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/make_probe.hpp"
#include "core/signals.hpp"
#include "core/subprocess.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "util/date.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <optional>
#include <sys/stat.h>

namespace actions {

using core::die;

namespace {

// Upstream's report_build_problem: file an apport report when apport is
// there, then fail the unit.
[[noreturn]] void report_build_problem(core::Context& ctx, const Unit& unit, int code,
                                       const std::vector<std::string>& lines) {
  if (util::is_executable_file("/usr/share/apport/apport") &&
      !core::find_in_path("python3").empty()) {
    core::ProcessSpec spec;
    spec.argv = {"python3", "/usr/share/apport/package-hooks/dkms_packages.py",
                 "-m",      unit.module,
                 "-v",      unit.version,
                 "-k",      unit.target.kernel};
    spec.out_fd = ctx.out.stdout_fd() < 0 ? 1 : ctx.out.stdout_fd();
    spec.err_fd = ctx.out.stderr_fd() < 0 ? 2 : ctx.out.stderr_fd();
    core::run_process(spec);
  }
  die(ctx.out, code, lines);
}

// CC/KERNEL_CC/LD/KERNEL_LD for make and build scripts (SPEC §6.4).
std::vector<std::pair<std::string, std::string>> compiler_env(const core::Context& ctx,
                                                              const std::string& kernel) {
  std::vector<std::pair<std::string, std::string>> env;
  std::string ksrc = core::kernel_source_dir(ctx, kernel);
  std::string cc;
  const std::string kernelvariables = ksrc + "/.kernelvariables";
  if (util::exists(kernelvariables)) {
    // make's include would split and glob the path; the in-process answer
    // only knows the file's text.
    std::optional<std::string> answer;
    if (ksrc.find_first_of(" \t\n*?[") == std::string::npos) {
      if (auto text = util::read_file(kernelvariables)) {
        // The environment the make below would get.
        answer = core::probe_make_variable(*text, "CC", core::child_environment({}));
      }
    }
    if (!answer) {
      core::ProcessSpec spec;
      spec.argv = {"make", "-f", "-", "show-CC"};
      spec.stdin_data = "show-%:\n\t@echo $($*)\ninclude " + kernelvariables + "\n";
      spec.out = core::Sink::capture;
      answer = util::trim(core::run_process(spec).output);
    }
    cc = *answer;
    env.push_back({"CC", cc});
  }
  const auto& text = core::kernel_config_text(core::kernel_config(ctx, kernel));
  if (text) {
    // First word of CONFIG_CC_VERSION_TEXT (quoted or not) names the compiler.
    for (std::string_view line :
         util::lines_starting_with(*text, "CONFIG_CC_VERSION_TEXT=")) {
      std::string v(line.substr(23));
      size_t b = v.find_first_not_of('"');
      if (b == std::string::npos) {
        continue;
      }
      size_t e = v.find_first_of("\" ", b);
      if (e == std::string::npos || v.find(' ', b) == std::string::npos) {
        continue;
      }
      std::string word = v.substr(b, e - b);
      if (!word.empty() && !core::find_in_path(word).empty()) {
        cc = word;
        env.push_back({"CC", word});
        env.push_back({"KERNEL_CC", word});
      }
    }
    if (text->find("CONFIG_CC_IS_CLANG=y") != std::string::npos &&
        !core::find_in_path("clang").empty()) {
      env.push_back({"CC", "clang"});
      env.push_back({"KERNEL_CC", "clang"});
    }
    if (text->find("CONFIG_LD_IS_LLD=y") != std::string::npos &&
        !core::find_in_path("ld.lld").empty()) {
      env.push_back({"LD", "ld.lld"});
      env.push_back({"KERNEL_LD", "ld.lld"});
    }
  }
  // Later entries win, as repeated exports do.
  std::vector<std::pair<std::string, std::string>> dedup;
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    bool seen = false;
    for (const auto& d : dedup) {
      seen = seen || d.first == it->first;
    }
    if (!seen) {
      dedup.push_back(*it);
    }
  }
  return dedup;
}

std::string env_value(const std::vector<std::pair<std::string, std::string>>& env,
                      const std::string& name) {
  for (const auto& kv : env) {
    if (kv.first == name) {
      return kv.second;
    }
  }
  return {};
}

size_t count_visible_entries(const std::string& dir) {
  size_t n = 0;
  for (const auto& name : util::list_dir(dir)) {
    n += name[0] != '.';
  }
  return n;
}

void check_build_depends(core::Context& ctx, const Unit& unit,
                         const core::DkmsConf& conf) {
  std::string missing;
  for (const auto& bd : conf.build_depends) {
    bool installed = false;
    for (const auto& e :
         core::module_status(ctx, bd, "*", unit.target.kernel, unit.target.arch)) {
      installed = installed || e.state == core::State::installed;
    }
    if (!installed) {
      missing += " " + bd;
    }
  }
  if (missing.empty()) {
    return;
  }
  const std::string who = unit.module + "/" + unit.version + " for kernel " +
                          unit.target.kernel + " (" + unit.target.arch + ")";
  if (unit.force) {
    ctx.out.warning({"Trying to build module " + who +
                     " despite of missing BUILD_DEPENDS:" + missing + "."});
  } else {
    die(ctx.out, 13,
        {"Aborting build of module " + who + " due to missing BUILD_DEPENDS:" + missing +
             ".",
         "You may override by specifying --force."});
  }
}

std::string current_date() {
  if (auto text = util::c_locale_date(std::time(nullptr))) {
    return *text;
  }
  return core::run_capture({"date"}).output;
}

} // namespace

void prepare_kernel_and_signing(core::Context& ctx, Unit& unit) {
  const auto& ka = unit.target;
  if (unit.prepared == ka.kernel + "/" + ka.arch) {
    return;
  }
  if (!core::kernel_headers_present(ctx, ka.kernel)) {
    const std::string& it = ctx.settings.install_tree;
    die(ctx.out, 21,
        {"Your kernel headers for kernel " + ka.kernel + " cannot be found at " + it +
             "/" + ka.kernel + "/build or " + it + "/" + ka.kernel + "/source.",
         "Please install the linux-headers-" + ka.kernel +
             " package or use the --kernelsourcedir option to tell DKMS where it's "
             "located."});
  }
  unit.signing =
      core::prepare_signing(ctx, ka.kernel, core::kernel_config(ctx, ka.kernel));
  unit.prepared = ka.kernel + "/" + ka.arch;
  ctx.out.line("");
}

void do_build(core::Context& ctx, Unit& unit) {
  const auto& ka = unit.target;
  if (ka.kernel.empty() || ka.arch.empty()) {
    die(ctx.out, 16, {"do_build: Empty $kernelver or $arch"});
  }
  if (!core::is_added(ctx, unit.module, unit.version)) {
    add_module(ctx, unit);
    ctx.out.line("");
  }
  const std::string& m = unit.module;
  const std::string& v = unit.version;
  const std::string source_dir = core::source_link(ctx, m, v);
  const std::string build = core::build_dir(ctx, m, v);
  const std::string kernel_dir = core::version_dir(ctx, m, v) + "/" + ka.kernel;
  const std::string base = core::base_dir(ctx, m, v, ka);
  const std::string build_log = build + "/make.log";

  if (util::is_dir(base)) {
    die(ctx.out, 3,
        {"This module/version has already been built on: " + ka.kernel,
         "Directory " + base +
             " already exists. Use the dkms remove function before trying to build "
             "again."});
  }
  // The suffix is needed once make is done; checking the module tree's
  // index meanwhile costs the build no time.
  core::check_module_index_ahead(ctx, ka.kernel);
  auto conf = read_conf_strict_or_die(ctx, unit);
  if (conf.excluded) {
    core::diewarn(ctx.out, 77,
                  {"The " + base + "/dkms.conf",
                   "for module " + m + "/" + v + " includes a BUILD_EXCLUSIVE directive",
                   "which does not match this kernel/arch/config.",
                   "This indicates that it should not be built."});
  }
  if (count_visible_entries(source_dir) < 2) {
    die(ctx.out, 8,
        {"The directory " + source_dir +
             " does not appear to have module source located within it.",
         "Build halted."});
  }
  prepare_kernel_and_signing(ctx, unit);
  auto env = compiler_env(ctx, ka.kernel);
  check_build_depends(ctx, unit, conf);

  // A build interrupted by Ctrl-C or SIGTERM leaves the pair as it was:
  // no staging directory, an empty build directory.
  std::optional<std::string> staging;
  try {
    util::remove_all(build);
    std::string copy_error;
    // The build directory is scratch: nothing in it is fsync'ed.
    if (!util::copy_tree(source_dir + "/", build, &copy_error, util::Sync::scratch)) {
      die(ctx.out, 1,
          {"Could not copy " + source_dir + " to " + build + ": " + copy_error});
    }
    util::write_file_atomic(build_log,
                            "DKMS (dkms-3.2.2) make.log for " + m + "/" + v +
                                " for kernel " + ka.kernel + " (" + ka.arch + ")\n" +
                                current_date(),
                            0644, util::Sync::scratch);

    auto vars = shell_vars(ctx, unit, &conf);
    auto run_logged = [&](const std::string& command, const std::string& description) {
      core::Invocation inv;
      inv.command = command;
      inv.description = description;
      inv.log_file = build_log;
      inv.background = true;
      inv.package_name = conf.package_name;
      inv.cwd = build;
      inv.vars = vars;
      inv.env = env;
      return core::invoke(ctx, inv);
    };

    for (const auto& p : conf.patches) {
      if (("patches/" + p).find("/../") != std::string::npos) {
        report_build_problem(
            ctx, unit, 5,
            {"Patch " + p + " as specified in dkms.conf contains '..' path component."});
      }
      if (!util::exists(build + "/patches/" + p)) {
        report_build_problem(ctx, unit, 5,
                             {"Patch " + p + " as specified in dkms.conf cannot be",
                              "found in " + build + "/patches/."});
      }
      if (run_logged("patch -p1 < ./patches/" + p, "Applying patch " + p) != 0) {
        report_build_problem(ctx, unit, 6,
                             {"Application of patch " + p + " failed.",
                              "Consult " + build_log + " for more information."});
      }
    }

    run_build_script(ctx, unit, conf, "pre_build", conf.pre_build, build_log);

    std::string make_command = conf.make_command;
    if (util::starts_with(make_command, "make")) {
      make_command = "make -j" + ctx.settings.parallel_jobs +
                     " KERNELRELEASE=" + ka.kernel + make_command.substr(4);
    }
    if (run_logged(make_command, "Building module(s)") != 0) {
      report_build_problem(ctx, unit, 10,
                           {"Bad return status for module build on kernel: " + ka.kernel +
                                " (" + ka.arch + ")",
                            "Consult " + build_log + " for more information."});
    }
    for (const auto& slot : conf.modules) {
      std::string rel = slot.built_location + slot.built_name + ".ko";
      if (!util::exists(build + "/" + rel)) {
        report_build_problem(
            ctx, unit, 7,
            {"Build of " + rel + " failed for: " + ka.kernel + " (" + ka.arch + ")",
             "Make sure the name and location of the generated module are correct,",
             "or consult " + build_log + " for more information."});
      }
    }

    const std::string suffix = core::module_compression_suffix(ctx, ka.kernel);
    if (unit.install_follows) {
      // install asks the index again right after; make (user code) is done,
      // and what follows until then leaves IT/K alone unless a script runs.
      core::check_module_index_ahead(ctx, ka.kernel);
    }
    util::mkdir_p(kernel_dir);
    staging = util::make_temp_dir(kernel_dir, ".tmp_" + ka.arch + "_");
    if (!staging) {
      die(ctx.out, 1, {"Unable to make temporary directory."});
    }
    util::mkdir_p(*staging + "/log");
    util::mkdir_p(*staging + "/module");
    if (util::is_regular(build + "/Module.symvers")) {
      util::copy_file(build + "/Module.symvers", *staging + "/module/Module.symvers");
    }
    core::Compression comp = core::compression_from_suffix(suffix);
    std::string comp_opts = suffix == ".gz"   ? ctx.settings.compress_gzip_opts
                            : suffix == ".xz" ? ctx.settings.compress_xz_opts
                                              : ctx.settings.compress_zstd_opts;
    std::string cc = env_value(env, "CC");
    for (const auto& slot : conf.modules) {
      std::string built = build + "/" + slot.built_location + slot.built_name + ".ko";
      if (!util::is_regular(built)) {
        ctx.out.warning({built + " has disappeared"});
        continue;
      }
      if (slot.strip) {
        core::ProcessSpec strip;
        strip.argv = {cc == "clang" ? "llvm-strip" : "strip", "-g", built};
        strip.out = core::Sink::capture;
        strip.merge_stderr = true;
        struct stat unstripped {};
        if (comp != core::Compression::none && stat(built.c_str(), &unstripped) == 0) {
          // The compressor's memory, faulted in while strip runs. The
          // unstripped size bounds the stripped module; signing then appends
          // a signature (~1 KB with its certificate chain, room left for 16).
          const size_t bound = static_cast<size_t>(unstripped.st_size) +
                               (unit.signing.enabled ? 16 * 1024 : 0);
          strip.while_running = [&comp, &comp_opts, bound] {
            core::prepare_compression(comp, comp_opts, bound);
          };
        }
        core::run_process(strip);
      }
      if (unit.signing.enabled) {
        core::sign_module(ctx, unit.signing, built);
      }
      bool compressed = comp != core::Compression::none &&
                        core::compress_file(built, comp, comp_opts, ctx.out);
      std::string from = compressed ? built + suffix : built;
      std::string to =
          *staging + "/module/" + slot.dest_name + (compressed ? ".ko" + suffix : ".ko");
      util::copy_file(from, to);
    }
    for (const auto& slot : conf.modules) {
      std::string stem = *staging + "/module/" + slot.dest_name + ".ko";
      if (!util::is_regular(stem) && !util::is_regular(stem + suffix)) {
        die(ctx.out, 7,
            {"Missing module '" + slot.dest_name + "' in " + *staging + "/module"});
      }
    }
    core::crash_point("build.before_rename");
    chmod(staging->c_str(), 0755);
    if (rename(staging->c_str(), base.c_str()) != 0) {
      die(ctx.out, 7, {"do_build: final mv failed (1)"});
    }
  } catch (const core::Exit&) {
    if (core::interrupted_signal() == 0) {
      throw;
    }
    if (staging) {
      util::remove_all(*staging);
    }
    util::remove_all(build);
    util::mkdir_p(build);
    ctx.out.err_line("dkms: interrupted: " + m + "/" + v + " was not built for kernel " +
                     ka.kernel + " (" + ka.arch + "); its previous state is unchanged.");
    throw;
  }

  core::crash_point("build.after_rename");
  if (!conf.post_build.empty()) {
    core::discard_module_index_ahead(ctx, ka.kernel);
  }
  run_build_script(ctx, unit, conf, "post_build", conf.post_build, build_log);

  rename(build_log.c_str(), (base + "/log/make.log").c_str());
  util::remove_all(build);

  if (conf.build_depends_rebuild && !unit.force) {
    for (const auto& bd : conf.build_depends) {
      std::string dep_version = core::newest_version(ctx, bd, ka);
      if (!dep_version.empty()) {
        util::write_file_atomic(base + "/.dep_" + bd, dep_version + "\n");
      }
    }
  }
}

void maybe_build_module(core::Context& ctx, Unit& unit) {
  if (core::is_built(ctx, unit.module, unit.version, unit.target)) {
    if (!unit.force) {
      ctx.out.line("Module " + unit.module + "/" + unit.version +
                   " already built for kernel " + unit.target.kernel + " (" +
                   unit.target.arch + "), skip. You may override by specifying --force.");
      return;
    }
    do_unbuild(ctx, unit);
  }
  do_build(ctx, unit);
}

int action_build(core::Context& ctx) {
  check_all_is_banned(ctx, "build");
  die_if_broken(ctx, ctx.opts.module, ctx.opts.version);
  check_rw_dkms_tree(ctx);
  int status = 0;
  for (const auto& target : ctx.targets) {
    Unit unit = make_unit(ctx, target);
    status = run_unit([&] { maybe_build_module(ctx, unit); });
  }
  return status;
}

} // namespace actions
