#include "core/archive.hpp"

#include "core/dynlib.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

// libarchive (and the many libraries it pulls in) is opened only when a
// tarball is read or written.
// clang-format off
#define DKMS_ARCHIVE_SYMBOLS(X)                                                          \
  X(archive_entry_copy_gname) X(archive_entry_copy_hardlink)                             \
  X(archive_entry_copy_pathname) X(archive_entry_copy_sourcepath)                        \
  X(archive_entry_copy_uname) X(archive_entry_filetype) X(archive_entry_free)            \
  X(archive_entry_hardlink) X(archive_entry_linkify)                                     \
  X(archive_entry_linkresolver_free) X(archive_entry_linkresolver_new)                   \
  X(archive_entry_linkresolver_set_strategy) X(archive_entry_new)                        \
  X(archive_entry_pathname) X(archive_entry_perm) X(archive_entry_set_filetype)          \
  X(archive_entry_set_gid) X(archive_entry_set_mtime) X(archive_entry_set_perm)          \
  X(archive_entry_set_size) X(archive_entry_set_uid) X(archive_entry_size)               \
  X(archive_entry_size_is_set) X(archive_entry_symlink) X(archive_error_string)          \
  X(archive_format) X(archive_read_data_block) X(archive_read_disk_entry_from_file)      \
  X(archive_read_disk_gname) X(archive_read_disk_new)                                    \
  X(archive_read_disk_set_standard_lookup) X(archive_read_disk_set_symlink_physical)     \
  X(archive_read_disk_uname) X(archive_read_free) X(archive_read_new)                    \
  X(archive_read_next_header) X(archive_read_open_filename)                              \
  X(archive_read_open_memory) X(archive_read_support_filter_bzip2)                       \
  X(archive_read_support_filter_compress) X(archive_read_support_filter_gzip)            \
  X(archive_read_support_filter_lz4) X(archive_read_support_filter_lzip)                 \
  X(archive_read_support_filter_lzma) X(archive_read_support_filter_xz)                  \
  X(archive_read_support_filter_zstd) X(archive_read_support_format_gnutar)              \
  X(archive_read_support_format_tar) X(archive_write_add_filter_bzip2)                   \
  X(archive_write_add_filter_compress) X(archive_write_add_filter_gzip)                  \
  X(archive_write_add_filter_lz4) X(archive_write_add_filter_lzip)                       \
  X(archive_write_add_filter_lzma) X(archive_write_add_filter_xz)                        \
  X(archive_write_add_filter_zstd) X(archive_write_close) X(archive_write_data)          \
  X(archive_write_data_block) X(archive_write_disk_new)                                  \
  X(archive_write_disk_set_options) X(archive_write_finish_entry)                        \
  X(archive_write_free) X(archive_write_header) X(archive_write_new)                     \
  X(archive_write_open_fd) X(archive_write_set_format_gnutar)
// clang-format on
DKMS_DYNLIB_API(ArchiveApi, DKMS_ARCHIVE_SYMBOLS)

const ArchiveApi& la() {
  return dynlib::api<ArchiveApi>(DKMS_SONAME_LIBARCHIVE, "tarballs");
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& c : util::split(path, '/')) {
    if (!c.empty() && c != ".") {
      out.push_back(c);
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    out += (i == 0 ? "" : "/") + parts[i];
  }
  return out;
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

std::string archive_message(struct archive* a) {
  const char* s = la().archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

// ---------------------------------------------------------------------------
// Writing

int add_filter(struct archive* a, TarFilter f) {
  switch (f) {
  case TarFilter::none:
    return ARCHIVE_OK;
  case TarFilter::gzip:
    return la().archive_write_add_filter_gzip(a);
  case TarFilter::bzip2:
    return la().archive_write_add_filter_bzip2(a);
  case TarFilter::xz:
    return la().archive_write_add_filter_xz(a);
  case TarFilter::lzma:
    return la().archive_write_add_filter_lzma(a);
  case TarFilter::lzip:
    return la().archive_write_add_filter_lzip(a);
  case TarFilter::zstd:
    return la().archive_write_add_filter_zstd(a);
  case TarFilter::lz4:
    return la().archive_write_add_filter_lz4(a);
  case TarFilter::compress:
    return la().archive_write_add_filter_compress(a);
  }
  return ARCHIVE_FATAL;
}

class TarWriter {
public:
  TarWriter(struct archive* out, struct archive* disk)
      : m_out(out), m_disk(disk), m_links(la().archive_entry_linkresolver_new()) {
    la().archive_entry_linkresolver_set_strategy(m_links, la().archive_format(out));
  }
  ~TarWriter() { la().archive_entry_linkresolver_free(m_links); }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  std::optional<std::string> member(const TarMember& m) {
    if (!m.disk_path.empty()) {
      struct stat st;
      if (stat(m.disk_path.c_str(), &st) != 0) {
        return m.disk_path + ": " + strerror(errno);
      }
      return from_disk(m.disk_path, m.name, st);
    }
    struct archive_entry* e = la().archive_entry_new();
    la().archive_entry_copy_pathname(e, m.name.c_str());
    la().archive_entry_set_filetype(e, m.is_dir ? AE_IFDIR : AE_IFREG);
    la().archive_entry_set_perm(e, m.mode);
    la().archive_entry_set_size(e,
                                m.is_dir ? 0 : static_cast<la_int64_t>(m.content.size()));
    la().archive_entry_set_mtime(e, time(nullptr), 0);
    la().archive_entry_set_uid(e, geteuid());
    la().archive_entry_set_gid(e, getegid());
    la().archive_entry_copy_uname(e, la().archive_read_disk_uname(m_disk, geteuid()));
    la().archive_entry_copy_gname(e, la().archive_read_disk_gname(m_disk, getegid()));
    auto err = write_entry(e, m.content);
    la().archive_entry_free(e);
    return err;
  }

private:
  std::optional<std::string> from_disk(const std::string& path, const std::string& name,
                                       const struct stat& st) {
    struct archive_entry* e = la().archive_entry_new();
    la().archive_entry_copy_sourcepath(e, path.c_str());
    la().archive_entry_copy_pathname(e, name.c_str());
    if (la().archive_read_disk_entry_from_file(m_disk, e, -1, &st) < ARCHIVE_WARN) {
      std::string msg = path + ": " + archive_message(m_disk);
      la().archive_entry_free(e);
      return msg;
    }
    if (S_ISREG(st.st_mode)) {
      // With tar's strategy the resolver never defers an entry: it marks a
      // second name of an already archived file as a hard link to it.
      struct archive_entry* spare = nullptr;
      la().archive_entry_linkify(m_links, &e, &spare);
      bool data =
          la().archive_entry_hardlink(e) == nullptr && la().archive_entry_size(e) > 0;
      auto err = data ? write_file_entry(e, path) : write_entry(e, {});
      la().archive_entry_free(e);
      if (spare != nullptr) {
        la().archive_entry_free(spare);
      }
      return err;
    }
    auto err = write_entry(e, {});
    la().archive_entry_free(e);
    if (!err && S_ISDIR(st.st_mode)) {
      for (const auto& child : util::list_dir(path)) {
        struct stat cst;
        std::string cpath = path + "/" + child;
        if (lstat(cpath.c_str(), &cst) != 0) {
          return cpath + ": " + strerror(errno);
        }
        if (auto e2 = from_disk(cpath, name + "/" + child, cst)) {
          return e2;
        }
      }
    }
    return err;
  }

  std::optional<std::string> write_entry(struct archive_entry* e,
                                         const std::string& content) {
    if (la().archive_write_header(m_out, e) < ARCHIVE_WARN) {
      return archive_message(m_out);
    }
    if (!content.empty() &&
        la().archive_write_data(m_out, content.data(), content.size()) < 0) {
      return archive_message(m_out);
    }
    return std::nullopt;
  }

  std::optional<std::string> write_file_entry(struct archive_entry* e,
                                              const std::string& path) {
    auto data = util::read_file(path);
    if (!data) {
      return path + ": " + strerror(errno);
    }
    // Archive exactly the size the header announced, even if the file
    // changed meanwhile.
    data->resize(static_cast<size_t>(la().archive_entry_size(e)), '\0');
    return write_entry(e, *data);
  }

  struct archive* m_out;
  struct archive* m_disk;
  struct archive_entry_linkresolver* m_links;
};

// ---------------------------------------------------------------------------
// Extraction

enum class NameProblem { none, absolute, dotdot };

NameProblem check_name(const std::string& name, std::string& normalised) {
  if (!name.empty() && name[0] == '/') {
    return NameProblem::absolute;
  }
  auto parts = components(name);
  for (const auto& p : parts) {
    if (p == "..") {
      return NameProblem::dotdot;
    }
  }
  normalised = join(parts, parts.size());
  return NameProblem::none;
}

// Lexical resolution of a symlink target against the link's directory:
// false if it climbs above the root.
bool target_stays_inside(const std::string& link, const std::string& target) {
  auto cur = components(link);
  if (!cur.empty()) {
    cur.pop_back();
  }
  for (const auto& c : components(target)) {
    if (c != "..") {
      cur.push_back(c);
    } else if (cur.empty()) {
      return false;
    } else {
      cur.pop_back();
    }
  }
  return true;
}

std::string limit_text(std::uint64_t bytes) {
  return std::to_string(bytes) + " bytes";
}

// Restores the working directory on scope exit: libarchive's secure
// extraction flags only accept relative names, so we extract from inside
// the destination.
class CwdGuard {
public:
  CwdGuard() : m_fd(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~CwdGuard() {
    if (m_fd >= 0) {
      (void)!fchdir(m_fd);
      close(m_fd);
    }
  }
  CwdGuard(const CwdGuard&) = delete;
  CwdGuard& operator=(const CwdGuard&) = delete;
  bool ok() const { return m_fd >= 0; }

private:
  int m_fd;
};

class Extractor {
public:
  Extractor(struct archive* in, const ExtractLimits& limits)
      : m_in(in), m_out(la().archive_write_disk_new(), la().archive_write_free),
        m_limits(limits) {
    la().archive_write_disk_set_options(
        m_out.get(),
        ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  }

  std::optional<ExtractError> run() {
    for (;;) {
      struct archive_entry* e = nullptr;
      int r = la().archive_read_next_header(m_in, &e);
      if (r == ARCHIVE_EOF) {
        break;
      }
      if (r < ARCHIVE_WARN) {
        return ExtractError{{}, archive_message(m_in)};
      }
      if (auto err = entry(e)) {
        return err;
      }
    }
    if (la().archive_write_close(m_out.get()) < ARCHIVE_WARN) {
      return ExtractError{{}, archive_message(m_out.get())};
    }
    return std::nullopt;
  }

private:
  std::optional<ExtractError> entry(struct archive_entry* e) {
    const char* raw_c = la().archive_entry_pathname(e);
    std::string raw = raw_c != nullptr ? raw_c : "";
    auto refuse = [&raw](const std::string& why) {
      return std::optional<ExtractError>(ExtractError{raw, why});
    };
    if (raw_c == nullptr) {
      return refuse("has no usable name");
    }
    if (++m_entries > m_limits.max_entries) {
      return refuse("is beyond the limit of " + std::to_string(m_limits.max_entries) +
                    " entries (decompression bomb?)");
    }
    std::string name;
    switch (check_name(raw, name)) {
    case NameProblem::absolute:
      return refuse("is an absolute path");
    case NameProblem::dotdot:
      return refuse("has a '..' path component");
    case NameProblem::none:
      break;
    }
    auto type = la().archive_entry_filetype(e);
    const char* hardlink = la().archive_entry_hardlink(e);
    if (name.empty()) {
      // The archive's "./": our directory already exists, keep its mode.
      if (type == AE_IFDIR && hardlink == nullptr) {
        return std::nullopt;
      }
      return refuse("names the extraction directory itself");
    }
    auto parts = components(name);
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string prefix = join(parts, i);
      if (m_symlinks.count(prefix) != 0) {
        return refuse("would be written through the symbolic link " + prefix);
      }
      if (m_files.count(prefix) != 0) {
        return refuse("is below " + prefix + ", which is not a directory");
      }
    }
    bool is_dir = type == AE_IFDIR && hardlink == nullptr;
    if (m_seen.count(name) != 0 && !(is_dir && m_dirs.count(name) != 0)) {
      return refuse("appears more than once in the archive");
    }
    std::string link_target;
    if (hardlink != nullptr) {
      std::string target;
      if (check_name(hardlink, target) != NameProblem::none || target.empty()) {
        return refuse(std::string("is a hard link to ") + hardlink +
                      ", outside the archive");
      }
      if (m_regular.count(target) == 0) {
        return refuse(std::string("is a hard link to ") + hardlink +
                      ", which is not a regular file earlier in the archive");
      }
      la().archive_entry_copy_hardlink(e, target.c_str());
    } else {
      switch (type) {
      case AE_IFREG:
      case AE_IFDIR:
        break;
      case AE_IFLNK: {
        const char* t = la().archive_entry_symlink(e);
        link_target = t != nullptr ? t : "";
        if (link_target.empty()) {
          return refuse("is a symbolic link without a target");
        }
        if (link_target[0] == '/') {
          return refuse("is a symbolic link to the absolute path " + link_target);
        }
        if (!target_stays_inside(name, link_target)) {
          return refuse("is a symbolic link leading outside the archive (" + link_target +
                        ")");
        }
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        return refuse("is a device node");
      case AE_IFIFO:
        return refuse("is a FIFO");
      case AE_IFSOCK:
        return refuse("is a socket");
      default:
        return refuse("has an unsupported file type");
      }
    }
    auto perm = la().archive_entry_perm(e);
    if (is_dir) {
      // Setgid directories are common and harmless; owner access keeps the
      // extraction removable by a non-root caller.
      la().archive_entry_set_perm(e, (perm & ~mode_t{S_ISUID | S_ISGID}) | S_IRWXU);
    } else if ((perm & (S_ISUID | S_ISGID)) != 0 && type != AE_IFLNK) {
      return refuse("has the setuid or setgid bit set");
    }
    std::uint64_t declared = 0;
    if (type == AE_IFREG && hardlink == nullptr && la().archive_entry_size_is_set(e) &&
        la().archive_entry_size(e) > 0) {
      declared = static_cast<std::uint64_t>(la().archive_entry_size(e));
    }
    if (declared > m_limits.max_bytes || m_bytes + declared > m_limits.max_bytes) {
      return refuse("would make the extracted data exceed " +
                    limit_text(m_limits.max_bytes) + " (decompression bomb?)");
    }
    la().archive_entry_copy_pathname(e, name.c_str());
    if (la().archive_write_header(m_out.get(), e) < ARCHIVE_WARN) {
      return refuse("could not be extracted: " + archive_message(m_out.get()));
    }
    if (type == AE_IFREG && hardlink == nullptr) {
      if (auto err = copy_data(raw)) {
        return err;
      }
    }
    if (la().archive_write_finish_entry(m_out.get()) < ARCHIVE_WARN) {
      return refuse("could not be extracted: " + archive_message(m_out.get()));
    }
    m_seen.insert(name);
    if (is_dir) {
      m_dirs.insert(name);
    } else if (type == AE_IFLNK && hardlink == nullptr) {
      m_symlinks.insert(name);
      m_files.insert(name);
    } else {
      m_regular.insert(name);
      m_files.insert(name);
    }
    return std::nullopt;
  }

  std::optional<ExtractError> copy_data(const std::string& raw) {
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int r = la().archive_read_data_block(m_in, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) {
        return std::nullopt;
      }
      if (r < ARCHIVE_WARN) {
        return ExtractError{raw, "could not be read: " + archive_message(m_in)};
      }
      m_bytes += size;
      if (m_bytes > m_limits.max_bytes) {
        return ExtractError{raw, "would make the extracted data exceed " +
                                     limit_text(m_limits.max_bytes) +
                                     " (decompression bomb?)"};
      }
      if (la().archive_write_data_block(m_out.get(), buf, size, offset) < ARCHIVE_WARN) {
        return ExtractError{raw,
                            "could not be extracted: " + archive_message(m_out.get())};
      }
    }
  }

  struct archive* m_in;
  ArchivePtr m_out;
  ExtractLimits m_limits;
  std::uint64_t m_entries = 0;
  std::uint64_t m_bytes = 0;
  std::set<std::string> m_seen;
  std::set<std::string> m_dirs;
  std::set<std::string> m_files; // everything that is not a directory
  std::set<std::string> m_regular;
  std::set<std::string> m_symlinks;
};

ArchivePtr new_reader() {
  ArchivePtr in(la().archive_read_new(), la().archive_read_free);
  // Only tar, and only filters built into libarchive: no external
  // decompressor programs ever run on untrusted input.
  la().archive_read_support_format_tar(in.get());
  la().archive_read_support_format_gnutar(in.get());
  la().archive_read_support_filter_gzip(in.get());
  la().archive_read_support_filter_bzip2(in.get());
  la().archive_read_support_filter_xz(in.get());
  la().archive_read_support_filter_lzma(in.get());
  la().archive_read_support_filter_lzip(in.get());
  la().archive_read_support_filter_zstd(in.get());
  la().archive_read_support_filter_lz4(in.get());
  la().archive_read_support_filter_compress(in.get());
  return in;
}

std::optional<ExtractError> extract_opened(struct archive* in, const std::string& dest,
                                           const ExtractLimits& limits) {
  CwdGuard guard;
  if (!guard.ok() || chdir(dest.c_str()) != 0) {
    return ExtractError{{}, dest + ": " + strerror(errno)};
  }
  Extractor x(in, limits);
  return x.run();
}

// Follows the path from the link's directory through the tree, symlinks
// included (they may chain), and says whether it ever climbs above root.
bool resolution_escapes(const std::string& root, const std::string& link) {
  auto cur = components(link);
  cur.pop_back();
  auto target = util::read_link(root + "/" + link);
  if (!target || target->empty() || (*target)[0] == '/') {
    return true;
  }
  std::vector<std::string> todo = components(*target);
  std::reverse(todo.begin(), todo.end());
  int hops = 0;
  while (!todo.empty()) {
    std::string c = todo.back();
    todo.pop_back();
    if (c == "..") {
      if (cur.empty()) {
        return true;
      }
      cur.pop_back();
      continue;
    }
    cur.push_back(c);
    std::string path = root + "/" + join(cur, cur.size());
    if (!util::is_symlink(path)) {
      continue;
    }
    auto next = util::read_link(path);
    if (++hops > 40 || !next || next->empty() || (*next)[0] == '/') {
      return true;
    }
    cur.pop_back();
    auto more = components(*next);
    for (auto it = more.rbegin(); it != more.rend(); ++it) {
      todo.push_back(*it);
    }
  }
  return false;
}

std::optional<std::string> escaping_below(const std::string& root,
                                          const std::string& rel) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  for (const auto& name : util::list_dir(dir)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat((root + "/" + child).c_str(), &st) != 0) {
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (resolution_escapes(root, child)) {
        return child;
      }
    } else if (S_ISDIR(st.st_mode)) {
      if (auto hit = escaping_below(root, child)) {
        return hit;
      }
    }
  }
  return std::nullopt;
}

} // namespace

TarFilter tar_filter_for_name(const std::string& name) {
  // GNU tar's suffix table for -a (--auto-compress).
  static const std::pair<const char*, TarFilter> table[] = {
      {".gz", TarFilter::gzip},      {".tgz", TarFilter::gzip},
      {".taz", TarFilter::gzip},     {".bz2", TarFilter::bzip2},
      {".tbz", TarFilter::bzip2},    {".tbz2", TarFilter::bzip2},
      {".tz2", TarFilter::bzip2},    {".xz", TarFilter::xz},
      {".txz", TarFilter::xz},       {".lzma", TarFilter::lzma},
      {".tlz", TarFilter::lzma},     {".lz", TarFilter::lzip},
      {".zst", TarFilter::zstd},     {".tzst", TarFilter::zstd},
      {".lz4", TarFilter::lz4},      {".Z", TarFilter::compress},
      {".taZ", TarFilter::compress},
  };
  for (const auto& [suffix, filter] : table) {
    if (util::ends_with(name, suffix)) {
      return filter;
    }
  }
  return TarFilter::none;
}

std::optional<std::string> write_tarball(const std::string& path,
                                         const std::vector<TarMember>& members) {
  std::string temp = util::dirname(path) + "/." + util::basename(path) + ".XXXXXX";
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    return temp + ": " + strerror(errno);
  }
  // tar creates the file with 0666 less the umask; mkstemp used 0600.
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  std::optional<std::string> err;
  {
    ArchivePtr out(la().archive_write_new(), la().archive_write_free);
    ArchivePtr disk(la().archive_read_disk_new(), la().archive_read_free);
    la().archive_read_disk_set_standard_lookup(disk.get());
    la().archive_read_disk_set_symlink_physical(disk.get());
    la().archive_write_set_format_gnutar(out.get());
    if (add_filter(out.get(), tar_filter_for_name(path)) < ARCHIVE_WARN ||
        la().archive_write_open_fd(out.get(), fd) != ARCHIVE_OK) {
      err = archive_message(out.get());
    }
    if (!err) {
      TarWriter w(out.get(), disk.get());
      for (const auto& m : members) {
        if ((err = w.member(m))) {
          break;
        }
      }
    }
    if (!err && la().archive_write_close(out.get()) != ARCHIVE_OK) {
      err = archive_message(out.get());
    }
  }
  if (!err && fsync(fd) != 0) {
    err = path + ": " + strerror(errno);
  }
  close(fd);
  if (!err && rename(temp.c_str(), path.c_str()) != 0) {
    err = path + ": " + strerror(errno);
  }
  if (err) {
    unlink(temp.c_str());
  }
  return err;
}

std::optional<ExtractError> extract_archive(const std::string& path,
                                            const std::string& dest,
                                            const ExtractLimits& limits) {
  ArchivePtr in = new_reader();
  if (la().archive_read_open_filename(in.get(), path.c_str(), 65536) != ARCHIVE_OK) {
    return ExtractError{{}, archive_message(in.get())};
  }
  return extract_opened(in.get(), dest, limits);
}

std::optional<ExtractError> extract_archive_memory(const void* data, std::size_t size,
                                                   const std::string& dest,
                                                   const ExtractLimits& limits) {
  ArchivePtr in = new_reader();
  if (la().archive_read_open_memory(in.get(), data, size) != ARCHIVE_OK) {
    return ExtractError{{}, archive_message(in.get())};
  }
  return extract_opened(in.get(), dest, limits);
}

std::optional<std::string> find_escaping_symlink(const std::string& root) {
  return escaping_below(root, {});
}

std::optional<std::string> normalise_member_name(const std::string& name) {
  std::string out;
  if (check_name(name, out) != NameProblem::none) {
    return std::nullopt;
  }
  return out;
}

} // namespace core
