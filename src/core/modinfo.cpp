#include "core/modinfo.hpp"

#include "core/compress.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdint>

namespace core {

namespace {

using namespace std::string_view_literals;

// Bounds-checked reads of ELF fields in the file's byte order.
class ElfReader {
public:
  ElfReader(std::string_view image, bool big_endian)
      : m_image(image), m_big(big_endian) {}

  bool read(uint64_t offset, unsigned width, uint64_t& value) const {
    if (offset > m_image.size() || m_image.size() - offset < width) {
      return false;
    }
    value = 0;
    for (unsigned i = 0; i < width; ++i) {
      unsigned idx = m_big ? i : width - 1 - i;
      value = (value << 8) | static_cast<unsigned char>(m_image[offset + idx]);
    }
    return true;
  }

private:
  std::string_view m_image;
  bool m_big;
};

// Offsets of the fields we need, per ELF class.
struct Layout {
  unsigned addr; // width of addresses and offsets
  uint64_t e_shoff;
  uint64_t e_shentsize;
  uint64_t e_shnum;
  uint64_t e_shstrndx;
  uint64_t sh_offset;
  uint64_t sh_size;
  uint64_t sh_link;
};

constexpr Layout k_elf32 = {4, 0x20, 0x2e, 0x30, 0x32, 0x10, 0x14, 0x18};
constexpr Layout k_elf64 = {8, 0x28, 0x3a, 0x3c, 0x3e, 0x18, 0x20, 0x28};

struct Section {
  uint64_t name = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

std::optional<std::string_view> find_section(std::string_view image,
                                             std::string_view wanted) {
  if (image.size() < 0x34 || image.substr(0, 4) != "\x7f"
                                                   "ELF") {
    return std::nullopt;
  }
  const Layout* layout = image[4] == 1 ? &k_elf32 : image[4] == 2 ? &k_elf64 : nullptr;
  if (layout == nullptr || (image[5] != 1 && image[5] != 2)) {
    return std::nullopt;
  }
  const Layout& l = *layout;
  ElfReader r(image, image[5] == 2);
  uint64_t shoff = 0, shentsize = 0, shnum = 0, shstrndx = 0;
  if (!r.read(l.e_shoff, l.addr, shoff) || !r.read(l.e_shentsize, 2, shentsize) ||
      !r.read(l.e_shnum, 2, shnum) || !r.read(l.e_shstrndx, 2, shstrndx) ||
      shentsize < l.sh_link + 4 || shoff == 0) {
    return std::nullopt;
  }
  auto section = [&](uint64_t index, Section& s) {
    uint64_t base = shoff + index * shentsize;
    return index < (uint64_t{1} << 32) && r.read(base, 4, s.name) &&
           r.read(base + l.sh_offset, l.addr, s.offset) &&
           r.read(base + l.sh_size, l.addr, s.size) && s.offset <= image.size() &&
           image.size() - s.offset >= s.size;
  };
  // Many sections: the real counts live in section 0 (ELF extended numbering).
  if (shnum == 0 && !r.read(shoff + l.sh_size, l.addr, shnum)) {
    return std::nullopt;
  }
  if (shstrndx == 0xffff && !r.read(shoff + l.sh_link, 4, shstrndx)) {
    return std::nullopt;
  }
  // The whole header table must be inside the file, as kmod requires.
  if (shnum > (image.size() - std::min<uint64_t>(shoff, image.size())) / shentsize) {
    return std::nullopt;
  }
  Section names;
  if (shstrndx >= shnum || !section(shstrndx, names)) {
    return std::nullopt;
  }
  std::string_view strtab = image.substr(names.offset, names.size);
  for (uint64_t i = 0; i < shnum; ++i) {
    Section s;
    if (!section(i, s)) {
      return std::nullopt;
    }
    if (s.name < strtab.size()) {
      std::string_view name = strtab.substr(s.name);
      if (name.substr(0, wanted.size()) == wanted && name.size() > wanted.size() &&
          name[wanted.size()] == '\0') {
        return image.substr(s.offset, s.size);
      }
    }
  }
  return std::string_view();
}

} // namespace

std::optional<std::string_view> elf_section(std::string_view image,
                                            std::string_view name) {
  return find_section(image, name);
}

std::string ModInfo::get(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) {
      return v;
    }
  }
  return {};
}

bool ModInfo::has(std::string_view key) const {
  for (const auto& field : fields) {
    if (field.first == key) {
      return true;
    }
  }
  return false;
}

std::optional<ModInfo> parse_modinfo(std::string_view elf_image) {
  std::optional<std::string_view> section = find_section(elf_image, ".modinfo");
  if (!section) {
    return std::nullopt;
  }
  ModInfo info;
  // Entries are NUL-terminated key=value strings, with NUL padding between.
  for (const auto& entry : util::split(*section, '\0')) {
    if (entry.empty()) {
      continue;
    }
    size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      info.fields.emplace_back(entry, "");
    } else {
      info.fields.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  return info;
}

std::optional<ModInfo> read_modinfo(const std::string& path) {
  std::optional<std::string> data = util::read_file(path);
  if (!data) {
    return std::nullopt;
  }
  // Kernel modules are a few MiB at most; anything bigger is not one.
  std::optional<std::string> image = decompress(*data, size_t{256} << 20);
  if (!image) {
    return std::nullopt;
  }
  return parse_modinfo(*image);
}

VersionInfo version_info(const ModInfo& info) {
  // Upstream reads modinfo(8) output line by line, splitting words: the last
  // "version:" line gives version and checksum, the last "srcversion:" line
  // the srcversion. Values are scanned line by line the same way, because a
  // multi-line value prints as several lines.
  VersionInfo result;
  std::string checksum;
  for (const auto& [key, value] : info.fields) {
    if (key == "version") {
      result.raw_version = value;
    }
    // modinfo(8) prints "key:" padded to 16 columns before the value.
    std::string label = key + ":";
    if (label.size() < 16) {
      label.resize(16, ' ');
    }
    for (const auto& line : util::split(label + value, '\n')) {
      std::vector<std::string> words = util::split_words(line);
      if (words.empty()) {
        continue;
      }
      if (words[0] == "version:") {
        result.version = words.size() > 1 ? words[1] : "";
        checksum = words.size() > 2 ? words[2] : "";
      } else if (words[0] == "srcversion:") {
        result.srcversion = words.size() > 1 ? words[1] : "";
      }
    }
  }
  if (result.srcversion.empty()) {
    result.srcversion = checksum;
  }
  return result;
}

} // namespace core
