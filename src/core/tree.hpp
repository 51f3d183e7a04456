#pragma once

#include "core/context.hpp"

#include <string>
#include <vector>

// The dkms tree model (SPEC §5): where things live, the state predicates,
// and the status enumeration, all relative to the configured trees.
namespace core {

std::string module_dir(const Context& ctx, const std::string& m);
std::string version_dir(const Context& ctx, const std::string& m, const std::string& v);
std::string base_dir(const Context& ctx, const std::string& m, const std::string& v,
                     const KernelArch& ka);
std::string source_link(const Context& ctx, const std::string& m, const std::string& v);
std::string build_dir(const Context& ctx, const std::string& m, const std::string& v);
std::string source_tree_dir(const Context& ctx, const std::string& m,
                            const std::string& v);
std::string kernel_link(const Context& ctx, const std::string& m, const KernelArch& ka);
std::string original_module_dir(const Context& ctx, const std::string& m,
                                const KernelArch& ka);

bool is_broken(const Context& ctx, const std::string& m, const std::string& v);
bool is_added(const Context& ctx, const std::string& m, const std::string& v);
bool is_built(const Context& ctx, const std::string& m, const std::string& v,
              const KernelArch& ka);
// Built, and kernel-K-A resolves to exactly DT/m/v/K/A.
bool is_installed(const Context& ctx, const std::string& m, const std::string& v,
                  const KernelArch& ka);
// Only the link test (callers that already know the pair is built).
bool link_points_here(const Context& ctx, const std::string& m, const std::string& v,
                      const KernelArch& ka);

enum class State { added, built, installed, broken };

struct StatusEntry {
  State state;
  std::string module;
  std::string version;
  KernelArch target; // empty for added/broken
};

struct ModuleVersion {
  std::string module;
  std::string version;
};

// DT/<mpat>/<vpat> directories, skipping kernel-*-* links (SPEC §5.3 step 1).
// Empty patterns mean "*". Patterns are bash globs (extglob).
std::vector<ModuleVersion> list_module_versions(const Context& ctx,
                                                const std::string& mpat,
                                                const std::string& vpat);
// Built/installed entries of one pair (SPEC §5.3 step 2). Empty kpat means
// the default "+([0-9]).*", empty apat "*".
std::vector<StatusEntry> built_entries(const Context& ctx, const std::string& m,
                                       const std::string& v, const std::string& kpat,
                                       const std::string& apat);
// The whole enumeration: broken, added, built and installed entries.
std::vector<StatusEntry> module_status(const Context& ctx, const std::string& mpat = {},
                                       const std::string& vpat = {},
                                       const std::string& kpat = {},
                                       const std::string& apat = {});

// Highest version (sort -V) of module `name` in any state for K/A, or "".
std::string newest_version(const Context& ctx, const std::string& name,
                           const KernelArch& ka);

// Like upstream's `find DIR/* -maxdepth 0 -type d`: a real (not symlinked)
// subdirectory whose name does not start with a dot.
bool has_visible_subdirectory(const std::string& dir);

} // namespace core
