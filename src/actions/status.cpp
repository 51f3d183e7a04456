// dkms status (SPEC §5.4): one line per pair state, with the extra notes on
// built and installed lines.
#include "actions/actions.hpp"
#include "actions/module_files.hpp"
#include "core/conf_cache.hpp"
#include "core/exit.hpp"
#include "core/kernel.hpp"
#include "core/tree.hpp"
#include "util/fs.hpp"

#include <optional>

namespace actions {

namespace {

// The compression suffix only matters where a plain .ko is missing, and
// computing it walks the kernel's whole module tree: ask only then.
class LazySuffix {
public:
  LazySuffix(const core::Context& ctx, const std::string& kernel)
      : m_ctx(ctx), m_kernel(kernel) {}
  const std::string& get() {
    if (!m_value) {
      // Status only reads: trust the last full walk unless the top of the
      // kernel's module tree changed (see core::SuffixCheck).
      m_value =
          core::module_compression_suffix(m_ctx, m_kernel, core::SuffixCheck::top_levels);
    }
    return *m_value;
  }

private:
  const core::Context& m_ctx;
  const std::string& m_kernel;
  std::optional<std::string> m_value;
};

// module_file(), asking for the suffix only when the plain file is absent.
std::string lazy_module_file(const std::string& dir, const std::string& name,
                             LazySuffix& suffix) {
  std::string plain = dir + "/" + name + ".ko";
  if (util::exists(plain)) {
    return plain;
  }
  // As module_file(), without testing the plain name twice.
  std::string compressed = plain + suffix.get();
  return !suffix.get().empty() && util::exists(compressed) ? compressed : std::string();
}

// The notes upstream appends to a built/installed line.
std::string status_extras(core::Context& ctx, const core::StatusEntry& e) {
  Unit unit;
  unit.module = e.module;
  unit.version = e.version;
  unit.target = e.target;
  LazySuffix suffix(ctx, e.target.kernel);
  const core::ConfRequest req = source_conf_request(ctx, unit);
  std::optional<core::StatusConf> conf;
  try {
    conf = core::read_status_conf(ctx, req);
  } catch (const core::Exit&) {
    // Upstream evaluates in a subshell: a missing dkms.conf prints its
    // error there and just suppresses the notes.
    return {};
  }
  std::string extras;
  if (util::is_dir(core::original_module_dir(ctx, e.module, e.target))) {
    extras += " (Original modules exist)";
  }
  // An invalid conf leaves no module records to check.
  if (!conf) {
    return extras;
  }
  std::string base = core::base_dir(ctx, e.module, e.version, e.target) + "/module";
  // module_status() set the state from this very kernel link.
  bool installed = e.state == core::State::installed;
  const std::string kernel_dir = ctx.settings.install_tree + "/" + e.target.kernel;
  for (const auto& slot : conf->modules) {
    std::string built = lazy_module_file(base, slot.dest_name, suffix);
    if (built.empty()) {
      extras += " (Built modules are missing in the kernel modules folder)";
      break;
    }
    if (installed) {
      // With the plain built file (the same file as the kernel link's) and a
      // plain file at the install location, every suffix gives the same
      // answer; otherwise ask with the real one.
      // The installed pair is the kernel link's, so `built` is also the
      // dkms-owned file. When the file at the install location is
      // byte-identical to it, their versions are equal too: that location
      // is the one actual_dest_location would pick, with no difference to
      // note, and no module needs decompressing to read its version.
      std::string first =
          lazy_module_file(kernel_dir + slot.install_location, slot.dest_name, suffix);
      if (!first.empty() && util::files_equal(built, first)) {
        continue;
      }
      bool plain =
          util::exists(base + "/" + slot.dest_name + ".ko") &&
          util::exists(kernel_dir + slot.install_location + "/" + slot.dest_name + ".ko");
      std::string loc = actual_dest_location(ctx, unit, slot, plain ? "" : suffix.get());
      if (plain && loc != slot.install_location) {
        loc = actual_dest_location(ctx, unit, slot, suffix.get());
      }
      std::string inst = lazy_module_file(kernel_dir + loc, slot.dest_name, suffix);
      if (inst.empty() || !util::files_equal(built, inst)) {
        extras += " (Differences between built and installed modules)";
        break;
      }
    }
  }
  return extras;
}

void print_status(core::Context& ctx, const std::string& kpat, const std::string& apat) {
  for (const auto& e :
       core::module_status(ctx, ctx.opts.module, ctx.opts.version, kpat, apat)) {
    std::string mv = e.module + "/" + e.version;
    switch (e.state) {
    case core::State::broken:
      ctx.out.line(mv + ": broken");
      ctx.out.error({mv + ": Missing the module source directory or the symbolic link "
                          "pointing to it.",
                     "Manual intervention is required!"});
      break;
    case core::State::added:
      ctx.out.line(mv + ": added");
      break;
    case core::State::built:
    case core::State::installed: {
      const char* state = e.state == core::State::built ? "built" : "installed";
      // The line's start is printed before the notes are computed, so conf
      // messages land in the middle of it, as upstream's do.
      ctx.out.out(mv + ", " + e.target.kernel + ", " + e.target.arch + ": " + state);
      ctx.out.line(status_extras(ctx, e));
      break;
    }
    }
  }
}

} // namespace

int action_status(core::Context& ctx) {
  const auto& kernels = ctx.opts.kernels;
  const auto& arches = ctx.opts.arches;
  if (kernels.empty()) {
    print_status(ctx, {}, arches.empty() ? std::string() : arches[0]);
    return 0;
  }
  // Upstream pairs a single -a with every -k.
  for (size_t j = 0; j < kernels.size(); ++j) {
    std::string a;
    if (j < arches.size()) {
      a = arches[j];
    } else if (arches.size() == 1) {
      a = arches[0];
    }
    print_status(ctx, kernels[j], a);
  }
  return 0;
}

} // namespace actions
