#pragma once

#include "core/context.hpp"
#include "core/module_index.hpp"

#include <optional>
#include <string>

// Facts about a target kernel and the running system (SPEC §0.5, §1.5, §6.1,
// §6.5), all relative to the configured install tree.
namespace core {

// KSRC: --kernelsourcedir, else IT/K/build.
std::string kernel_source_dir(const Context& ctx, const std::string& kernel);
// KCONF: --config, else KSRC/include/config/auto.conf if it exists, else KSRC/.config.
std::string kernel_config(const Context& ctx, const std::string& kernel);
// The text of a kernel config file, read once per run (signing, the
// compiler choice and BUILD_EXCLUSIVE_CONFIG all look at it; it does not
// change under a run). nullopt when it cannot be read (then it is tried
// again next time).
const std::optional<std::string>& kernel_config_text(const std::string& path);
// True if KSRC/include exists (headers installed).
bool kernel_headers_present(const Context& ctx, const std::string& kernel);
// ".gz", ".xz", ".zst" or "": what the installed modules of K use (SPEC §6.5),
// through the module index (core/module_index.hpp), once per process.
std::string module_compression_suffix(const Context& ctx, const std::string& kernel,
                                      SuffixCheck check = SuffixCheck::every_directory);

// Distribution string from os-release (SPEC §0.5); false when neither
// os-release file exists.
bool detect_distro(const SystemPaths& sys, std::string& distro);

// ID and ID_LIKE as plain assignments set them; nullopt when the text needs
// a shell (quotes with escapes or expansions, commands, anything unusual).
struct OsReleaseIds {
  std::optional<std::string> id;
  std::optional<std::string> id_like;
};
std::optional<OsReleaseIds> parse_os_release(const std::string& text);
// Upstream's choice: ubuntu's ID, else ID_LIKE if set, else ID.
std::string distro_from_ids(const OsReleaseIds& ids);
// The same answer from bash sourcing the file.
std::string distro_from_os_release_shell(const std::string& file);
bool distro_matches(const std::string& distro, const char* glob);

} // namespace core
