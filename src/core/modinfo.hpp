#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Reads the .modinfo section of a kernel module (plain, .gz, .xz or .zst)
// in process, instead of running modinfo(8).
namespace core {

struct ModInfo {
  std::vector<std::pair<std::string, std::string>> fields; // key=value, in order
  // First value of key, or empty.
  std::string get(std::string_view key) const;
  bool has(std::string_view key) const;
};

// The contents of the named section of an ELF image (32/64-bit, either byte
// order); empty if there is no such section, nullopt if the image is not a
// well-formed ELF file.
std::optional<std::string_view> elf_section(std::string_view image,
                                            std::string_view name);

// nullopt if the file cannot be read, decompressed or is not an ELF module.
std::optional<ModInfo> read_modinfo(const std::string& path);
std::optional<ModInfo> parse_modinfo(std::string_view elf_image);

// What upstream's get_module_verinfo() yields (SPEC §7.2 step 4): version is
// the first word of `version:`, srcversion the `srcversion:` value or, when
// absent, the second word of `version:`. Also the raw `version` text as
// modinfo prints it (used by the uninstall version match, SPEC §7.6).
struct VersionInfo {
  std::string version;
  std::string srcversion;
  std::string raw_version;
};
VersionInfo version_info(const ModInfo& info);

} // namespace core
