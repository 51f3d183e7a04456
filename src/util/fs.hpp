#pragma once

#include <optional>
#include <string>
#include <vector>

// Filesystem helpers over POSIX calls. They know nothing about DKMS.
namespace util {

bool exists(const std::string& path);     // follows symlinks
bool lexists(const std::string& path);    // does not follow symlinks
bool is_dir(const std::string& path);     // follows symlinks
bool is_regular(const std::string& path); // follows symlinks
bool is_symlink(const std::string& path);
bool is_executable_file(const std::string& path);
std::optional<std::string> read_link(const std::string& path);
// Fully resolved path (realpath(3)); nullopt if any component is missing.
std::optional<std::string> real_path(const std::string& path);

std::optional<std::string> read_file(const std::string& path);
// Whether a written file is flushed to disk before it is renamed into place:
// `durable` survives a power loss; `scratch` is for files that are rebuilt
// anyway (a build directory), where an fsync per file is only cost.
enum class Sync { durable, scratch };
// Writes through a temporary file in the same directory and renames it into
// place, so a crash never leaves a half-written file.
bool write_file_atomic(const std::string& path, const std::string& content,
                       unsigned mode = 0644, Sync sync = Sync::durable);
bool files_equal(const std::string& a, const std::string& b);
// Whether a file time (ns since the epoch, as st_ctim/st_mtim) is within the
// last second: a later change could still share it (file systems with
// coarse clocks), so a stamp this recent cannot prove a file unchanged.
bool changed_too_recently(long long time_ns);

// Entry names of a directory (no "." or ".."), sorted bytewise.
std::vector<std::string> list_dir(const std::string& path);
// One directory entry, typed as lstat would (symlinks are `other`).
struct DirEntry {
  enum class Type { directory, regular, other };
  std::string name;
  Type type;
  bool operator<(const DirEntry& o) const { return name < o.name; }
  bool operator==(const DirEntry& o) const = default;
};
// The entries of a directory (no "." or ".."), sorted bytewise by name.
// Types come from the directory itself, so a large tree costs a read per
// directory, not a stat per file; entries the filesystem does not type are
// lstat'ed (and left out if gone by then). nullopt: cannot be opened.
std::optional<std::vector<DirEntry>> read_dir(const std::string& path);
bool mkdir_p(const std::string& path, unsigned mode = 0755);
// rm -rf; returns false if something could not be removed.
bool remove_all(const std::string& path);
bool remove_file(const std::string& path);
// Renames path to a hidden sibling (".<name>.deleted-XXXXXX") first, then
// deletes that: a crash midway leaves a hidden leftover, never a
// half-deleted tree under the visible name.
bool remove_all_atomically(const std::string& path);
// rmdir that only succeeds on an empty directory.
bool remove_empty_dir(const std::string& path);
// find DIR -type d -empty -delete: removes every directory under dir (and
// dir itself) left empty once its own empty subdirectories are gone.
// Symlinks are not followed.
void remove_empty_dirs(const std::string& dir);
// Recursively copies the contents of src into dst (merging), preserving
// modes, ownership (when root) and timestamps; symlinks are copied as links.
bool copy_tree(const std::string& src, const std::string& dst,
               std::string* error = nullptr, Sync sync = Sync::durable);
// Copies one file preserving mode and timestamps, atomically.
bool copy_file(const std::string& src, const std::string& dst,
               std::string* error = nullptr, Sync sync = Sync::durable);
// mkdtemp under dir with the given name prefix ("prefix" + "XXXXXX").
std::optional<std::string> make_temp_dir(const std::string& dir,
                                         const std::string& prefix);

std::string dirname(const std::string& path);
std::string basename(const std::string& path);

std::vector<std::string> find_files_named(const std::string& root,
                                          const std::vector<std::string>& names);
std::vector<std::string> find_files_with_suffix(const std::string& root,
                                                const std::string& suffix);

} // namespace util
