#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// DKMS tarballs through libarchive (SPEC §2.11, §2.12): writing them in the
// layout `tar -caf` produces, and extracting untrusted ones into a private
// directory with every entry checked before anything is written.
namespace core {

// Compression filter of a tar file, chosen from its name as `tar -a` does.
enum class TarFilter { none, gzip, bzip2, xz, lzma, lzip, zstd, lz4, compress };

// ".tar.gz"/".tgz" → gzip, ".tar.xz"/".txz" → xz, ".zst"/".tzst" → zstd,
// ".bz2"/".tbz"/".tbz2" → bzip2, ...; anything else is a plain tar.
TarFilter tar_filter_for_name(const std::string& name);

// One top-level member of a tarball being written.
struct TarMember {
  std::string name;      // member name, e.g. "./dkms_source_tree"
  std::string disk_path; // copied recursively when set (the top follows symlinks)
  std::string content;   // otherwise a regular file with this content ...
  bool is_dir = false;   // ... or, with is_dir, an empty directory
  unsigned mode = 0644;  // mode of a synthesized file or directory
};

// Writes members (in order) as a GNU tar to path through a temporary file
// in the same directory, renamed into place on success. Returns an error
// text on failure.
std::optional<std::string> write_tarball(const std::string& path,
                                         const std::vector<TarMember>& members);

// Caps for extraction: an archive that would exceed them is refused as a
// decompression bomb.
struct ExtractLimits {
  std::uint64_t max_bytes = std::uint64_t{2} << 30; // total file data
  std::uint64_t max_entries = 100000;
};

// Why an archive was refused. entry is the member name as stored (empty
// when the archive itself could not be read).
struct ExtractError {
  std::string entry;
  std::string reason;
};

// Extracts the archive at path (tar, optionally compressed) into dest, an
// existing empty directory. Refuses, before writing it, any entry that is
// absolute, has a ".." component, is a device node, FIFO or socket, has the
// setuid/setgid bit, is a symlink or hard link leading outside dest, would
// be written through a symlink, or appears twice; and refuses archives that
// are corrupt, truncated or exceed limits. On refusal dest may hold a
// partial extraction: callers discard it. Ownership, ACLs, extended
// attributes and file flags from the archive are not restored.
std::optional<ExtractError> extract_archive(const std::string& path,
                                            const std::string& dest,
                                            const ExtractLimits& limits = {});
// The same for an archive held in memory (tests and the fuzz target).
std::optional<ExtractError> extract_archive_memory(const void* data, std::size_t size,
                                                   const std::string& dest,
                                                   const ExtractLimits& limits = {});

// Path (relative to root) of the first symlink below root whose target is
// absolute or leads outside root, read lexically; nullopt if there is none.
std::optional<std::string> find_escaping_symlink(const std::string& root);

// Normalises an archive member name: drops "." and empty components.
// nullopt if the name is absolute or has a ".." component.
std::optional<std::string> normalise_member_name(const std::string& name);

} // namespace core
