// dkms autoinstall and the kernel hooks (SPEC §2.8, §2.9): bring every
// registered module to the installed state for one kernel, or take them
// away before a kernel goes.
//
// Beyond upstream, modules of one dependency round are built at the same
// time in forked units (at most parallel_jobs at once); their output is
// buffered and printed in upstream's order, so the text is unchanged.
#include "actions/actions.hpp"
#include "actions/parallel.hpp"
#include "core/depmod.hpp"
#include "core/exit.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <map>

namespace actions {

namespace {

struct Queued {
  std::string module;
  std::string version;
  std::vector<std::string> depends; // remaining BUILD_DEPENDS names
};

size_t parallel_slots(const core::Context& ctx) {
  const std::string& jobs = ctx.settings.parallel_jobs;
  if (jobs.empty()) {
    return 1;
  }
  try {
    long n = std::stol(jobs);
    return n > 0 ? static_cast<size_t>(n) : 1;
  } catch (...) {
    return 1;
  }
}

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

int autoinstall(core::Context& ctx) {
  if (util::exists(ctx.sys.etc_dkms + "/no-autoinstall")) {
    ctx.out.line("Automatic installation of modules has been disabled.");
    return 0;
  }
  const core::KernelArch ka = ctx.targets.at(0);
  // Latest version of every module, in order of first appearance.
  std::vector<std::string> known;
  std::map<std::string, std::string> latest;
  for (const auto& e : core::module_status(ctx)) {
    if (e.state == core::State::broken) {
      ctx.out.error({e.module + "/" + e.version +
                         " is broken! Missing the source directory or the symbolic link "
                         "pointing to it.",
                     "Manual intervention is required!"});
      continue;
    }
    auto it = latest.find(e.module);
    if (it == latest.end()) {
      known.push_back(e.module);
      latest[e.module] = e.version;
    } else if (core::ver_key(e.version) > core::ver_key(it->second)) {
      it->second = e.version;
    }
  }

  std::vector<std::string> installed;
  std::vector<std::string> skipped;
  std::vector<std::string> failed;
  std::vector<Queued> queue;
  Unit parent = make_unit(ctx, ka);
  for (const auto& m : known) {
    const std::string& v = latest[m];
    if (core::link_points_here(ctx, m, v, ka)) {
      installed.push_back(m);
      continue;
    }
    Unit probe = parent;
    probe.module = m;
    probe.version = v;
    auto conf = read_conf_or_die(ctx, probe, core::source_link(ctx, m, v) + "/dkms.conf");
    // Upstream keeps one conf cache per process: every install unit starts
    // with the last module read here, whose strict re-read is then silent
    // (no second deprecation warning for it).
    parent.conf_cache = probe.conf_cache;
    if (!conf.autoinstall) {
      continue;
    }
    // Upstream joins the array with spaces and splits it again.
    queue.push_back({m, v, util::split_words(util::join(conf.build_depends, " "))});
  }
  if (queue.empty()) {
    return 0;
  }

  size_t slots = parallel_slots(ctx);
  // One job per module: maybe_install_module in a copy of the parent unit.
  auto install_jobs = [&ctx, &parent](const std::vector<Queued>& modules) {
    std::vector<std::function<int()>> jobs;
    for (const auto& q : modules) {
      jobs.push_back([&ctx, &parent, q] {
        Unit u = parent;
        u.module = q.module;
        u.version = q.version;
        return run_unit([&] { maybe_install_module(ctx, u); });
      });
    }
    return jobs;
  };
  while (true) {
    for (auto& q : queue) {
      std::erase_if(q.depends, [&](const std::string& d) {
        return contains(installed, d) || contains(skipped, d);
      });
    }
    std::vector<Queued> ready;
    std::vector<Queued> waiting;
    for (auto& q : queue) {
      (q.depends.empty() ? ready : waiting).push_back(q);
    }
    // The signing prologue is printed once per run, before the first
    // module that needs a build; prepare it here, in the parent, so every
    // unit inherits the result.
    std::vector<std::vector<core::Output::Chunk>> prologue(ready.size());
    for (size_t i = 0; i < ready.size(); ++i) {
      if (core::is_built(ctx, ready[i].module, ready[i].version, ka) ||
          parent.prepared == ka.kernel + "/" + ka.arch) {
        continue;
      }
      ctx.out.begin_capture();
      int rc = run_unit([&] { prepare_kernel_and_signing(ctx, parent); });
      prologue[i] = ctx.out.end_capture();
      if (rc != 0) {
        // Upstream dies here, after the modules before this one ran.
        ready.resize(i);
        prologue.resize(i + 1);
        run_jobs_in_order(ctx.out, install_jobs(ready), slots,
                          [&](size_t j, JobResult& r) {
                            ctx.out.replay(prologue[j]);
                            ctx.out.line("Autoinstall of module " + ready[j].module +
                                         "/" + ready[j].version + " for kernel " +
                                         ka.kernel + " (" + ka.arch + ")");
                            ctx.out.replay(r.chunks);
                            ctx.out.line("");
                          });
        ctx.out.replay(prologue[i]);
        throw core::Exit{rc};
      }
      break;
    }
    size_t progress = 0;
    run_jobs_in_order(ctx.out, install_jobs(ready), slots, [&](size_t i, JobResult& r) {
      ctx.out.replay(prologue[i]);
      ctx.out.line("Autoinstall of module " + ready[i].module + "/" + ready[i].version +
                   " for kernel " + ka.kernel + " (" + ka.arch + ")");
      ctx.out.replay(r.chunks);
      if (r.status == 0) {
        installed.push_back(ready[i].module);
        ++progress;
      } else if (r.status == 77) {
        skipped.push_back(ready[i].module);
        ++progress;
      } else {
        failed.push_back(ready[i].module + "(" + std::to_string(r.status) + ")");
      }
      ctx.out.line("");
    });
    queue = std::move(waiting);
    if (progress == 0) {
      break;
    }
  }
  if (!installed.empty()) {
    ctx.out.line("Autoinstall on " + ka.kernel + " succeeded for module(s) " +
                 util::join(installed, " ") + ".");
  }
  if (!skipped.empty()) {
    ctx.out.line("Autoinstall on " + ka.kernel + " was skipped for module(s) " +
                 util::join(skipped, " ") + ".");
  }
  if (!failed.empty()) {
    ctx.out.line("Autoinstall on " + ka.kernel + " failed for module(s) " +
                 util::join(failed, " ") + ".");
  }
  for (const auto& q : queue) {
    ctx.out.line(q.module + "/" + q.version +
                 " autoinstall failed due to missing dependencies: " +
                 util::join(q.depends, " ") + ".");
  }
  if (!failed.empty() || !queue.empty()) {
    core::die(ctx.out, 11,
              {"One or more modules failed to install during autoinstall.",
               "Refer to previous errors for more information."});
  }
  return 0;
}

// Shared body of kernel_preinst and kernel_prerm.
int unbuild_for_kernel(core::Context& ctx, const std::string& action,
                       bool only_autoinstall, bool blank_after_each) {
  const core::KernelArch ka = ctx.targets.at(0);
  ctx.defer_depmod = true;
  std::string failed;
  for (const auto& mv : core::list_module_versions(ctx, {}, {})) {
    if (!core::is_built(ctx, mv.module, mv.version, ka)) {
      continue;
    }
    if (only_autoinstall) {
      // Upstream reads this conf with no module set, so /etc/dkms
      // overrides are not applied here.
      Unit probe = make_unit(ctx, ka);
      probe.module.clear();
      probe.version.clear();
      auto conf = read_conf_or_die(
          ctx, probe, core::source_link(ctx, mv.module, mv.version) + "/dkms.conf");
      if (!conf.autoinstall) {
        continue;
      }
    }
    ctx.out.err_line("dkms: removing module " + mv.module + "/" + mv.version +
                     " for kernel " + ka.kernel + " (" + ka.arch + ")");
    Unit unit = make_unit(ctx, ka);
    unit.module = mv.module;
    unit.version = mv.version;
    int rc = run_unit([&] {
      maybe_uninstall_module(ctx, unit);
      maybe_unbuild_module(ctx, unit);
    });
    if (rc != 0) {
      failed += " " + mv.module + "/" + mv.version + "(" + std::to_string(rc) + ")";
    }
    if (blank_after_each) {
      ctx.out.line("");
    }
  }
  std::string pending =
      ctx.settings.dkms_tree + "/depmod-pending-" + ka.kernel + "-" + ka.arch;
  if (util::lexists(pending)) {
    util::remove_file(pending);
    // Upstream passes no kernel here, so its depmod does nothing; we run
    // it for the kernel the modules left (same output).
    core::run_depmod(ctx, ka.kernel);
  }
  ctx.defer_depmod = false;
  std::string kdir = ctx.settings.install_tree + "/" + ka.kernel;
  if (util::is_dir(kdir)) {
    util::remove_empty_dirs(kdir);
  }
  if (!failed.empty()) {
    core::die(ctx.out, 14,
              {"dkms " + action + " for kernel " + ka.kernel + " (" + ka.arch +
               ") failed for module(s)" + failed + "."});
  }
  return 0;
}

} // namespace

int action_autoinstall(core::Context& ctx) {
  have_one_kernel(ctx, "autoinstall");
  check_root(ctx);
  return autoinstall(ctx);
}

int action_kernel_postinst(core::Context& ctx) {
  check_root(ctx);
  have_one_kernel(ctx, "kernel_postinst");
  return autoinstall(ctx);
}

int action_kernel_preinst(core::Context& ctx) {
  check_root(ctx);
  have_one_kernel(ctx, "kernel_prerm");
  return unbuild_for_kernel(ctx, "kernel_preinst", true, false);
}

int action_kernel_prerm(core::Context& ctx) {
  check_root(ctx);
  have_one_kernel(ctx, "kernel_prerm");
  return unbuild_for_kernel(ctx, "kernel_prerm", false, true);
}

} // namespace actions
