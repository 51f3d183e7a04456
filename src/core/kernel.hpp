#pragma once

#include "core/context.hpp"

#include <string>

// Facts about a target kernel and the running system (SPEC §0.5, §1.5, §6.1,
// §6.5), all relative to the configured install tree.
namespace core {

// KSRC: --kernelsourcedir, else IT/K/build.
std::string kernel_source_dir(const Context& ctx, const std::string& kernel);
// KCONF: --config, else KSRC/include/config/auto.conf if it exists, else KSRC/.config.
std::string kernel_config(const Context& ctx, const std::string& kernel);
// True if KSRC/include exists (headers installed).
bool kernel_headers_present(const Context& ctx, const std::string& kernel);
// ".gz", ".xz", ".zst" or "": what the installed modules of K use (SPEC §6.5).
std::string module_compression_suffix(const Context& ctx, const std::string& kernel);

// Distribution string from os-release (SPEC §0.5); false when neither
// os-release file exists.
bool detect_distro(const SystemPaths& sys, std::string& distro);
bool distro_matches(const std::string& distro, const char* glob);

// Lines starting "NAME=" in a kernel config, value with quotes removed.
std::string kconfig_value(const std::string& kconfig_text, const std::string& name);
// True if the config has a line starting "NAME=y" or "NAME=m".
bool kconfig_enabled(const std::string& kconfig_text, const std::string& name);

} // namespace core
