#include "util/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace util {

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

bool lexists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_symlink(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool is_executable_file(const std::string& path) {
  return is_regular(path) && access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> read_link(const std::string& path) {
  std::string buf(4096, '\0');
  ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) {
    return std::nullopt;
  }
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::optional<std::string> real_path(const std::string& path) {
  char* r = realpath(path.c_str(), nullptr);
  if (r == nullptr) {
    return std::nullopt;
  }
  std::string out(r);
  free(r);
  return out;
}

std::optional<std::string> read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  // Read straight into one buffer of the file's size: on a VM where every
  // page fault is dear, a kernel config (~160 KB) read in chunks that the
  // string reallocates twice costs twice the pages.
  struct stat st;
  size_t expected = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
                        ? static_cast<size_t>(st.st_size)
                        : 0;
  std::string data(expected + 1, '\0'); // +1: a grown file shows as more to read
  size_t used = 0;
  while (true) {
    if (used == data.size()) {
      data.resize(data.size() < 4096 ? 4096 : data.size() * 2);
    }
    ssize_t n = read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      close(fd);
      return std::nullopt;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<size_t>(n);
    // A regular file that gave all its bytes and stopped short of the spare
    // one is at its end: no second read to hear so.
    if (expected != 0 && used >= expected && used < data.size()) {
      break;
    }
  }
  close(fd);
  data.resize(used);
  return data;
}

static bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool write_file_atomic(const std::string& path, const std::string& content, unsigned mode,
                       Sync sync) {
  std::string tmp = path + ".dkms-tmp.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool ok = fchmod(fd, mode) == 0 && write_all(fd, content.data(), content.size()) &&
            (sync == Sync::scratch || fsync(fd) == 0);
  ok = (close(fd) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool files_equal(const std::string& a, const std::string& b) {
  auto da = read_file(a);
  auto db = read_file(b);
  return da && db && *da == *db;
}

bool changed_too_recently(long long time_ns) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return time_ns >= (now.tv_sec - 1) * 1000000000LL + now.tv_nsec;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    return names;
  }
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool mkdir_p(const std::string& path, unsigned mode) {
  if (path.empty()) {
    return false;
  }
  if (is_dir(path)) {
    return true;
  }
  std::string parent = dirname(path);
  if (parent != path && !is_dir(parent) && !mkdir_p(parent, mode)) {
    return false;
  }
  return mkdir(path.c_str(), mode) == 0 || (errno == EEXIST && is_dir(path));
}

bool remove_all(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT;
  }
  if (S_ISDIR(st.st_mode)) {
    bool ok = true;
    for (const auto& name : list_dir(path)) {
      ok = remove_all(path + "/" + name) && ok;
    }
    return rmdir(path.c_str()) == 0 && ok;
  }
  return unlink(path.c_str()) == 0;
}

bool remove_all_atomically(const std::string& path) {
  if (!lexists(path)) {
    return true;
  }
  auto grave = make_temp_dir(dirname(path), "." + basename(path) + ".deleted-");
  if (!grave || rename(path.c_str(), grave->c_str()) != 0) {
    if (grave) {
      rmdir(grave->c_str());
    }
    return remove_all(path);
  }
  return remove_all(*grave);
}

bool remove_file(const std::string& path) {
  return unlink(path.c_str()) == 0 || errno == ENOENT;
}

bool remove_empty_dir(const std::string& path) {
  return rmdir(path.c_str()) == 0;
}

void remove_empty_dirs(const std::string& dir) {
  for (const auto& name : list_dir(dir)) {
    std::string path = dir + "/" + name;
    if (is_dir(path) && !is_symlink(path)) {
      remove_empty_dirs(path);
    }
  }
  remove_empty_dir(dir);
}

static void copy_attributes(const std::string& dst, const struct stat& st) {
  if (geteuid() == 0) {
    (void)lchown(dst.c_str(), st.st_uid, st.st_gid);
  }
  if (!S_ISLNK(st.st_mode)) {
    chmod(dst.c_str(), st.st_mode & 07777);
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

bool copy_file(const std::string& src, const std::string& dst, std::string* error,
               Sync sync) {
  struct stat st;
  if (stat(src.c_str(), &st) != 0) {
    if (error != nullptr) {
      *error = src + ": " + strerror(errno);
    }
    return false;
  }
  auto data = read_file(src);
  if (!data || !write_file_atomic(dst, *data, st.st_mode & 07777, sync)) {
    if (error != nullptr) {
      *error = "cannot copy " + src + " to " + dst + ": " + strerror(errno);
    }
    return false;
  }
  copy_attributes(dst, st);
  return true;
}

static bool copy_entry(const std::string& src, const std::string& dst, std::string* error,
                       Sync sync) {
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) {
    if (error != nullptr) {
      *error = src + ": " + strerror(errno);
    }
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!is_dir(dst) && mkdir(dst.c_str(), 0700) != 0) {
      if (error != nullptr) {
        *error = dst + ": " + strerror(errno);
      }
      return false;
    }
    for (const auto& name : list_dir(src)) {
      if (!copy_entry(src + "/" + name, dst + "/" + name, error, sync)) {
        return false;
      }
    }
    copy_attributes(dst, st);
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    auto target = read_link(src);
    unlink(dst.c_str());
    if (!target || symlink(target->c_str(), dst.c_str()) != 0) {
      if (error != nullptr) {
        *error = dst + ": " + strerror(errno);
      }
      return false;
    }
    copy_attributes(dst, st);
    return true;
  }
  if (S_ISREG(st.st_mode)) {
    return copy_file(src, dst, error, sync);
  }
  // Device nodes, fifos and sockets have no place in a module source tree.
  return true;
}

bool copy_tree(const std::string& src, const std::string& dst, std::string* error,
               Sync sync) {
  if (!mkdir_p(dst)) {
    if (error != nullptr) {
      *error = dst + ": " + strerror(errno);
    }
    return false;
  }
  for (const auto& name : list_dir(src)) {
    if (!copy_entry(src + "/" + name, dst + "/" + name, error, sync)) {
      return false;
    }
  }
  struct stat st;
  if (stat(src.c_str(), &st) == 0) {
    copy_attributes(dst, st);
  }
  return true;
}

std::optional<std::string> make_temp_dir(const std::string& dir,
                                         const std::string& prefix) {
  std::string templ = dir + "/" + prefix + "XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return std::nullopt;
  }
  return templ;
}

std::string dirname(const std::string& path) {
  size_t pos = path.find_last_of('/');
  if (pos == std::string::npos) {
    return ".";
  }
  if (pos == 0) {
    return "/";
  }
  return path.substr(0, pos);
}

std::string basename(const std::string& path) {
  size_t pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::optional<std::vector<DirEntry>> read_dir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    return std::nullopt;
  }
  std::vector<DirEntry> out;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (lstat((path + "/" + e->d_name).c_str(), &st) != 0) {
        continue;
      }
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    out.push_back({e->d_name, type == DT_DIR   ? DirEntry::Type::directory
                              : type == DT_REG ? DirEntry::Type::regular
                                               : DirEntry::Type::other});
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Like find DIR -type f, visiting names in sorted order.
static void walk(const std::string& dir, const std::vector<std::string>& names,
                 const std::string& suffix, std::vector<std::string>& out) {
  for (const auto& e : read_dir(dir).value_or(std::vector<DirEntry>())) {
    std::string path = dir + "/" + e.name;
    if (e.type == DirEntry::Type::directory) {
      walk(path, names, suffix, out);
    } else if (e.type == DirEntry::Type::regular) {
      bool hit = suffix.empty()
                     ? std::find(names.begin(), names.end(), e.name) != names.end()
                     : e.name.ends_with(suffix);
      if (hit) {
        out.push_back(std::move(path));
      }
    }
  }
}

std::vector<std::string> find_files_named(const std::string& root,
                                          const std::vector<std::string>& names) {
  std::vector<std::string> out;
  walk(root, names, "", out);
  return out;
}

std::vector<std::string> find_files_with_suffix(const std::string& root,
                                                const std::string& suffix) {
  std::vector<std::string> out;
  walk(root, {}, suffix, out);
  return out;
}

} // namespace util
