// BUILD_DEPENDS_REBUILD (SPEC §2.14): after an install on K/A, rebuild the
// modules whose recorded dependency versions are stale.
#include "actions/actions.hpp"
#include "core/conf_cache.hpp"
#include "core/exit.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <optional>

namespace actions {

namespace {

bool dependencies_updated(core::Context& ctx, Unit& dep_unit) {
  auto conf = read_conf_strict_or_die(ctx, dep_unit);
  for (const auto& bd : conf.build_depends) {
    std::string version = core::newest_version(ctx, bd, dep_unit.target);
    if (version.empty()) {
      continue;
    }
    std::string file =
        core::base_dir(ctx, dep_unit.module, dep_unit.version, dep_unit.target) +
        "/.dep_" + bd;
    auto recorded = util::read_file(file);
    if (!recorded || util::trim(*recorded) != version) {
      return true;
    }
  }
  return false;
}

} // namespace

void rebuild_dependent_modules(core::Context& ctx, Unit& unit) {
  const core::KernelArch ka = unit.target;
  std::vector<core::ModuleVersion> stale;
  for (const auto& e : core::module_status(ctx)) {
    if (e.state != core::State::built && e.state != core::State::installed) {
      continue;
    }
    if (e.target.kernel != ka.kernel || e.target.arch != ka.arch) {
      continue;
    }
    Unit dep = unit;
    dep.module = e.module;
    dep.version = e.version;
    // Without -c the read below is of the source link's dkms.conf, which the
    // persistent record may answer without a bash per module.
    std::optional<core::ConfRecord> record;
    if (ctx.opts.conf_file.empty()) {
      record.emplace(ctx, source_conf_request(ctx, dep));
      auto cached = record->load();
      if (cached && (cached->build_depends.empty() || !cached->build_depends_rebuild ||
                     unit.force)) {
        // Upstream would have evaluated this conf and remembered it as its
        // last read. A recorded conf printed nothing when evaluated, so
        // forgetting the memo instead (the next read of any conf
        // evaluates) prints exactly what upstream prints.
        unit.conf_cache = {};
        continue;
      }
    }
    auto read = [&](core::ConfEvaluation& evaluation) -> std::optional<core::DkmsConf> {
      return read_conf_or_die(ctx, dep, {}, &evaluation);
    };
    core::ConfEvaluation plain;
    core::DkmsConf conf = record ? *record->read_through(read) : *read(plain);
    unit.conf_cache = dep.conf_cache;
    if (conf.build_depends.empty() || !conf.build_depends_rebuild || unit.force) {
      continue;
    }
    if (dependencies_updated(ctx, dep)) {
      stale.push_back({e.module, e.version});
    }
    unit.conf_cache = dep.conf_cache;
  }
  // Upstream's ordering loop is inverted: in effect every stale module is
  // rebuilt in one pass, in collection order.
  for (const auto& mv : stale) {
    Unit dep = unit;
    dep.module = mv.module;
    dep.version = mv.version;
    read_conf_or_die(ctx, dep);
    ctx.out.line("");
    ctx.out.line("Rebuilding module " + mv.module + "/" + mv.version +
                 " due to updated dependencies");
    ctx.out.line("");
    do_uninstall(ctx, dep);
    do_unbuild(ctx, dep);
    do_build(ctx, dep);
    do_install(ctx, dep);
    unit.prepared = dep.prepared;
    unit.signing = dep.signing;
  }
}

} // namespace actions
