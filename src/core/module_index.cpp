#include "core/module_index.hpp"

#include "core/conf_cache.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

constexpr std::string_view k_format = "dkms-module-index 2";
constexpr int k_top_levels_depth = 2;
constexpr int k_max_depth = 64;

using Entry = util::DirEntry;
using Type = util::DirEntry::Type;

// How an entry's type is written in the record.
char type_char(Type type) {
  return type == Type::directory ? 'd' : type == Type::regular ? 'f' : 'o';
}

std::optional<Type> type_of_char(char c) {
  switch (c) {
  case 'd':
    return Type::directory;
  case 'f':
    return Type::regular;
  case 'o':
    return Type::other;
  default:
    return std::nullopt;
  }
}

struct Dir {
  std::string rel;            // below IT/K: "" for IT/K itself, else "kernel/drivers"
  std::string stamp;          // "" when unknown: read again next time
  std::vector<Entry> entries; // sorted by name
};

struct Index {
  std::string suffix;
  std::vector<Dir> dirs; // depth first, each before its subdirectories
};

std::string index_root(const Context& ctx, const std::string& kernel) {
  return ctx.settings.install_tree + "/" + kernel + "/";
}

int depth_of(std::string_view rel) {
  return rel.empty() ? 0 : static_cast<int>(std::count(rel.begin(), rel.end(), '/')) + 1;
}

// IT/K opened once (following a symlink, as find does for its start), so
// each directory below is stat'ed by its short relative path: a thousand
// full path walks cost more than the rest of a check.
class Root {
public:
  explicit Root(const std::string& path)
      : m_fd(open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {}
  ~Root() {
    if (m_fd >= 0) {
      close(m_fd);
    }
  }
  Root(const Root&) = delete;
  Root& operator=(const Root&) = delete;
  int fd() const { return m_fd; }

private:
  int m_fd;
};

// A directory's identity: its entries cannot change without its ctime
// changing (create, unlink, rename all update it; users cannot set ctime
// back). Written into a buffer of the caller's: a check formats a thousand
// of them, and a heap string each showed in its profile.
class Stamp {
public:
  // False when rel is not a directory (or cannot be stat'ed).
  bool read(const Root& root, const std::string& rel) {
    struct stat st;
    int rc = root.fd() < 0 ? -1
             : rel.empty() ? fstat(root.fd(), &st)
                           : fstatat(root.fd(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (rc != 0 || !S_ISDIR(st.st_mode)) {
      m_size = 0;
      return false;
    }
    m_ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    int n = snprintf(m_text, sizeof m_text, "%llu %llu %lld",
                     static_cast<unsigned long long>(st.st_dev),
                     static_cast<unsigned long long>(st.st_ino), m_ctime_ns);
    m_size = n > 0 && static_cast<size_t>(n) < sizeof m_text ? static_cast<size_t>(n) : 0;
    return m_size != 0;
  }
  std::string_view text() const { return {m_text, m_size}; }
  long long ctime_ns() const { return m_ctime_ns; }

private:
  char m_text[72];
  size_t m_size = 0;
  long long m_ctime_ns = 0;
};

// The entries of one directory that the index keeps: subdirectories, and
// the names that could be modules.
std::vector<Entry> read_entries(const std::string& path) {
  std::vector<Entry> out;
  for (auto& e : util::read_dir(path).value_or(std::vector<Entry>())) {
    if (e.type == Type::directory || e.name.find(".ko") != std::string::npos) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

// As upstream's set_module_suffix: find -name "*.ko.gz", then .xz, then
// .zst; the last that finds something wins. Any entry type counts.
std::string suffix_of(const Index& index) {
  bool found[3] = {false, false, false};
  static constexpr std::string_view k_suffixes[3] = {".ko.gz", ".ko.xz", ".ko.zst"};
  for (const auto& dir : index.dirs) {
    for (const auto& e : dir.entries) {
      for (int i = 0; i < 3; ++i) {
        found[i] = found[i] || std::string_view(e.name).ends_with(k_suffixes[i]);
      }
    }
  }
  return found[2] ? ".zst" : found[1] ? ".xz" : found[0] ? ".gz" : "";
}

// The stamp a directory read now is stored with: none while it is too
// recent to prove anything.
std::string stamp_to_store(const Stamp& now) {
  return util::changed_too_recently(now.ctime_ns()) ? std::string()
                                                    : std::string(now.text());
}

// Whether reading a directory again (entries) changes the record, given
// what the record held for it (nullptr: nothing). A directory stored
// without a stamp and found as stored while still too recent leaves the
// record as it is: storing it again would write the same bytes.
bool reread_changes_record(const Dir* known, const std::vector<Entry>& entries,
                           const std::string& stamp) {
  return known == nullptr || !known->stamp.empty() || known->entries != entries ||
         !stamp.empty();
}

// Splits the record into lines in place; false at a missing final newline.
bool next_line(std::string_view& rest, std::string_view& line) {
  size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    return false;
  }
  line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return true;
}

// Takes the header (format, IT/K as recorded, suffix) off text. nullopt:
// text ends inside it; false: another format or another tree.
std::optional<bool> read_header(std::string_view& text, const std::string& root,
                                std::string_view& suffix) {
  std::string_view format, recorded_root;
  if (!next_line(text, format) || !next_line(text, recorded_root) ||
      !next_line(text, suffix)) {
    return std::nullopt;
  }
  return format == k_format && recorded_root == root;
}

// A directory line: "D", its stamp (empty when unknown), its path below IT/K.
bool read_dir_line(std::string_view line, std::string_view& stamp,
                   std::string_view& rel) {
  size_t tab = line.find('\t', 2);
  if (line.size() < 2 || line[0] != 'D' || line[1] != '\t' ||
      tab == std::string_view::npos) {
    return false;
  }
  stamp = line.substr(2, tab - 2);
  rel = line.substr(tab + 1);
  return true;
}

std::optional<Index> parse(std::string_view text, const std::string& root) {
  std::string_view suffix, line, stamp, rel;
  if (read_header(text, root, suffix) != true) {
    return std::nullopt;
  }
  // Sized first: growing ~a thousand vectors (and the one holding them)
  // touched twice the memory, and each fresh page costs a fault.
  std::vector<uint32_t> entry_counts;
  for (std::string_view rest = text; next_line(rest, line);) {
    if (line.starts_with("D\t")) {
      entry_counts.push_back(0);
    } else if (!entry_counts.empty()) {
      ++entry_counts.back();
    }
  }
  Index index;
  index.suffix = suffix;
  index.dirs.reserve(entry_counts.size());
  while (next_line(text, line)) {
    // IT/K's own line is the shortest: "D", tab, stamp (maybe empty), tab.
    if (read_dir_line(line, stamp, rel)) {
      Dir dir;
      dir.stamp = stamp;
      dir.rel = rel;
      dir.entries.reserve(entry_counts[index.dirs.size()]);
      index.dirs.push_back(std::move(dir));
      continue;
    }
    auto type = line.size() < 4 ? std::nullopt : type_of_char(line[2]);
    if (!type || line[0] != 'E' || line[1] != '\t' || line[3] != '\t' ||
        index.dirs.empty()) {
      return std::nullopt;
    }
    index.dirs.back().entries.push_back({std::string(line.substr(4)), *type});
  }
  if (!text.empty() || index.dirs.empty() || !index.dirs.front().rel.empty()) {
    return std::nullopt;
  }
  return index;
}

// The stored index still answers when every directory checked keeps its
// stamp: then the suffix on line 3 is current, found without building the
// index (status asks for three kernels per run). The record lists shallow
// directories first, so the top levels (where changes show most often:
// dkms installs into updates/) are checked first, and a top-levels check
// stops at the first deeper one. `whole`: text is the whole record, not
// a prefix that may end before the check could.
enum class Quick { valid, stale, incomplete };

Quick quick_check(std::string_view text, bool whole, const std::string& root,
                  SuffixCheck check, std::string& suffix_out) {
  std::string_view suffix, line, stamp, rel;
  auto header = read_header(text, root, suffix);
  if (!header) {
    return Quick::incomplete;
  }
  if (!*header) {
    return Quick::stale;
  }
  Root dirs(root);
  Stamp now;
  std::string rel_path; // NUL-terminated for fstatat, its buffer reused
  while (next_line(text, line)) {
    if (line.empty() || line[0] != 'D') {
      continue;
    }
    if (!read_dir_line(line, stamp, rel)) {
      return Quick::stale;
    }
    if (check == SuffixCheck::top_levels && depth_of(rel) > k_top_levels_depth) {
      suffix_out = suffix;
      return Quick::valid;
    }
    rel_path.assign(rel);
    if (stamp.empty() || !now.read(dirs, rel_path) || now.text() != stamp) {
      return Quick::stale;
    }
  }
  suffix_out = suffix;
  return whole && text.empty() ? Quick::valid : Quick::incomplete;
}

// The first bytes of a file, read into `buffer` (up to its size), or nullopt
// if it cannot be read. Read in place: a copy into a string touched as many
// fresh pages again.
std::optional<std::string_view> read_prefix(const std::string& path,
                                            std::span<char> buffer) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  size_t got = 0;
  while (got < buffer.size()) {
    ssize_t n = read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  return std::string_view(buffer.data(), got);
}

bool same_subdirectories(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  auto next_dir = [](const std::vector<Entry>& v, size_t i) {
    while (i < v.size() && v[i].type != Type::directory) {
      ++i;
    }
    return i;
  };
  size_t i = next_dir(a, 0);
  size_t j = next_dir(b, 0);
  while (i < a.size() && j < b.size()) {
    if (a[i].name != b[j].name) {
      return false;
    }
    i = next_dir(a, i + 1);
    j = next_dir(b, j + 1);
  }
  return i == a.size() && j == b.size();
}

// Checks every directory the index lists, in place: the common case, where
// no directory came or went, costs a stat per directory and no rebuilding.
// True: the tree has exactly the directories listed; those whose stamp
// differs were read again and updated, and `changed` tells whether the
// record must be stored again (as refresh decides it). False: a directory
// came or went; the index is left as it was, for refresh.
bool verify_in_place(const Root& dirs, const std::string& root, Index& index,
                     bool& changed) {
  if (index.dirs.empty() || !index.dirs.front().rel.empty()) {
    return false;
  }
  struct Reread {
    Dir* dir;
    std::vector<Entry> entries;
    std::string stamp; // as stored
  };
  std::vector<Reread> rereads;
  Stamp now;
  for (auto& dir : index.dirs) {
    if (!now.read(dirs, dir.rel)) {
      return false;
    }
    if (!dir.stamp.empty() && now.text() == dir.stamp) {
      continue;
    }
    std::vector<Entry> entries = read_entries(root + dir.rel);
    if (!same_subdirectories(dir.entries, entries)) {
      return false;
    }
    rereads.push_back({&dir, std::move(entries), stamp_to_store(now)});
  }
  for (auto& r : rereads) {
    changed = changed || reread_changes_record(r.dir, r.entries, r.stamp);
    r.dir->entries = std::move(r.entries);
    r.dir->stamp = std::move(r.stamp);
  }
  return true;
}

// Rebuilds the index from the tree, checking every directory's stamp and
// reading again only the directories whose stamp differs from the old
// index (or that it does not know). Entries still current are moved out of
// `old`.
void refresh(const Root& dirs, const std::string& root, const std::string& rel, int depth,
             const std::map<std::string_view, Dir*>& old, Index& out, bool& changed) {
  if (depth > k_max_depth) {
    return;
  }
  auto it = old.find(rel);
  const Dir* known = it == old.end() ? nullptr : it->second;
  Dir dir;
  Stamp now;
  if (!now.read(dirs, rel)) {
    changed = true; // gone, or no longer a directory
    return;
  }
  dir.stamp = stamp_to_store(now);
  if (known != nullptr && !known->stamp.empty() && known->stamp == now.text()) {
    dir.entries = std::move(it->second->entries);
  } else {
    dir.entries = read_entries(root + rel);
    changed = changed || reread_changes_record(known, dir.entries, dir.stamp);
  }
  dir.rel = rel;
  std::vector<std::string> subdirs;
  for (const auto& e : dir.entries) {
    if (e.type == Type::directory) {
      subdirs.push_back(rel.empty() ? e.name : rel + "/" + e.name);
    }
  }
  out.dirs.push_back(std::move(dir));
  for (const auto& sub : subdirs) {
    refresh(dirs, root, sub, depth + 1, old, out, changed);
  }
}

// Writes the record, built in `data` (its contents are replaced).
void store(const std::string& path, const std::string& root, const Index& index,
           std::string& data) {
  data.clear();
  data.append(k_format)
      .append("\n")
      .append(root)
      .append("\n")
      .append(index.suffix)
      .append("\n");
  // Shallow directories first: the top-levels check then reads only the
  // start of the record.
  std::vector<const Dir*> order;
  order.reserve(index.dirs.size());
  size_t size = data.size();
  for (const auto& dir : index.dirs) {
    order.push_back(&dir);
    size += dir.stamp.size() + dir.rel.size() + 4;
    for (const auto& e : dir.entries) {
      size += e.name.size() + 5;
    }
  }
  data.reserve(size);
  std::stable_sort(order.begin(), order.end(), [](const Dir* a, const Dir* b) {
    return depth_of(a->rel) < depth_of(b->rel);
  });
  for (const Dir* d : order) {
    const Dir& dir = *d;
    if (dir.rel.find('\n') != std::string::npos) {
      return;
    }
    data.append("D\t").append(dir.stamp).append("\t").append(dir.rel).append("\n");
    for (const auto& e : dir.entries) {
      if (e.name.find('\n') != std::string::npos) {
        return;
      }
      data.append("E\t")
          .append(1, type_char(e.type))
          .append("\t")
          .append(e.name)
          .append("\n");
    }
  }
  write_cache_record(path, data);
}

// Where one kernel's index lives, as plain strings: a check may run on a
// thread of its own (check_module_index_ahead), away from the Context.
struct Where {
  std::string root;      // IT/K/
  std::string path;      // its record
  std::string dkms_tree; // no record is written without one
};

Where where(const Context& ctx, const std::string& kernel) {
  return {index_root(ctx, kernel), module_index_path(ctx, kernel),
          ctx.settings.dkms_tree};
}

// What this process learnt of each index (by its record's path: a record
// names its IT/K and lives in one dkms tree). A later question in the same
// run checks every stamp again (the tree may change while make runs) but
// does not read and parse the record back.
struct Checks {
  std::mutex mutex; // indexes and fresh: a check ahead runs on its own thread
  std::map<std::string, Index> indexes;
  // Checked ahead, answer not used yet: the next question takes it as is.
  std::set<std::string> fresh;
  // Running checks ahead; touched by the main thread only. Declared last,
  // so that at exit they finish before the maps they write go away.
  std::map<std::string, std::future<void>> ahead;
};

Checks& checks() {
  static Checks c;
  return c;
}

// Waits for a check ahead of this record, if one runs. A failed check
// (out of memory) leaves no fresh answer: the question checks itself.
void join_ahead(const std::string& path) {
  auto& ahead = checks().ahead;
  auto it = ahead.find(path);
  if (it == ahead.end()) {
    return;
  }
  try {
    it->second.get();
  } catch (...) {
    std::lock_guard<std::mutex> lock(checks().mutex);
    checks().fresh.erase(path);
  }
  ahead.erase(it);
}

// The index a check ahead left, if its answer is still unused.
const Index* take_fresh(const std::string& path) {
  join_ahead(path);
  Checks& c = checks();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.fresh.erase(path) == 0) {
    return nullptr;
  }
  auto it = c.indexes.find(path);
  return it == c.indexes.end() ? nullptr : &it->second;
}

// The current index of IT/K: the one this process knows, else the stored
// one (text, read when not given), checked and refreshed, and stored again
// when anything was read anew.
const Index& current_index(const Where& w,
                           std::optional<std::string> text = std::nullopt) {
  Checks& c = checks();
  std::optional<Index> old;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (auto hit = c.indexes.find(w.path); hit != c.indexes.end()) {
      old = std::move(hit->second);
      c.indexes.erase(hit);
    }
  }
  if (!old) {
    if (!text) {
      text = util::read_file(w.path);
    }
    if (text) {
      old = parse(*text, w.root);
    }
  }
  Index index;
  bool changed = !old;
  Root dirs(w.root);
  if (old && verify_in_place(dirs, w.root, *old, changed)) {
    index = std::move(*old);
  } else {
    std::map<std::string_view, Dir*> by_rel;
    if (old) {
      for (auto& dir : old->dirs) {
        by_rel.emplace(dir.rel, &dir);
      }
      index.dirs.reserve(old->dirs.size());
    }
    refresh(dirs, w.root, "", 0, by_rel, index, changed);
  }
  index.suffix = suffix_of(index);
  if (changed && !index.dirs.empty() && util::is_dir(w.dkms_tree)) {
    // The old record's buffer (parsed already) holds the new one: its pages
    // are faulted in, and a record changes little from one run to the next.
    std::string buffer = text ? std::move(*text) : std::string();
    store(w.path, w.root, index, buffer);
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.indexes[w.path] = std::move(index);
}

void collect(const std::map<std::string_view, const Dir*>& by_rel,
             const std::string& root, const std::string& rel,
             const std::vector<std::string>& names, std::vector<std::string>& out) {
  auto it = by_rel.find(rel);
  if (it == by_rel.end()) {
    return;
  }
  for (const auto& e : it->second->entries) {
    std::string sub = rel.empty() ? e.name : rel + "/" + e.name;
    if (e.type == Type::directory) {
      collect(by_rel, root, sub, names, out);
    } else if (e.type == Type::regular &&
               std::find(names.begin(), names.end(), e.name) != names.end()) {
      out.push_back(root + sub);
    }
  }
}

} // namespace

void check_module_index_ahead(const Context& ctx, const std::string& kernel) {
  Where w = where(ctx, kernel);
  join_ahead(w.path);
  checks().ahead[w.path] = std::async(std::launch::async, [w] {
    current_index(w);
    std::lock_guard<std::mutex> lock(checks().mutex);
    checks().fresh.insert(w.path);
  });
}

void discard_module_index_ahead(const Context& ctx, const std::string& kernel) {
  const std::string path = module_index_path(ctx, kernel);
  join_ahead(path);
  std::lock_guard<std::mutex> lock(checks().mutex);
  checks().fresh.erase(path);
}

void wait_for_module_index_checks() {
  auto& ahead = checks().ahead;
  while (!ahead.empty()) {
    join_ahead(ahead.begin()->first);
  }
}

void drop_unused_module_index_checks() {
  wait_for_module_index_checks();
  std::lock_guard<std::mutex> lock(checks().mutex);
  checks().fresh.clear();
}

void forget_checked_module_indexes() {
  drop_unused_module_index_checks();
  std::lock_guard<std::mutex> lock(checks().mutex);
  checks().indexes.clear();
}

std::string module_index_path(const Context& ctx, const std::string& kernel) {
  return ctx.settings.dkms_tree + "/.module-index-" + kernel;
}

std::string indexed_compression_suffix(const Context& ctx, const std::string& kernel,
                                       SuffixCheck check) {
  const Where w = where(ctx, kernel);
  const std::string& path = w.path;
  const std::string& root = w.root;
  if (const Index* ahead = take_fresh(path)) {
    return ahead->suffix;
  }
  std::string suffix;
  std::optional<std::string> text;
  if (check == SuffixCheck::top_levels) {
    // The shallow part is ~6 KB of a record of ~150 KB (a real kernel's).
    constexpr size_t limit = 16 * 1024;
    // Uninitialised: zeroing the buffer first showed in status's profile.
    auto buffer = std::make_unique_for_overwrite<char[]>(limit);
    auto head = read_prefix(path, {buffer.get(), limit});
    Quick quick = Quick::stale;
    if (head) {
      quick = quick_check(*head, head->size() < limit, root, check, suffix);
      if (quick == Quick::incomplete && head->size() == limit) {
        text = util::read_file(path);
        quick = text ? quick_check(*text, true, root, check, suffix) : Quick::stale;
      }
    }
    if (quick == Quick::valid) {
      return suffix;
    }
  }
  // Anything changed at the top, or a full check asked for: every
  // directory is checked.
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(checks().mutex);
    known = checks().indexes.count(path) != 0;
  }
  if (known) {
    return current_index(w).suffix;
  }
  if (!text) {
    text = util::read_file(path);
  }
  if (text && quick_check(*text, true, root, SuffixCheck::every_directory, suffix) ==
                  Quick::valid) {
    return suffix;
  }
  return current_index(w, std::move(text)).suffix;
}

std::vector<std::string> indexed_files_named(const Context& ctx,
                                             const std::string& kernel,
                                             const std::vector<std::string>& names) {
  const Where w = where(ctx, kernel);
  const Index* ahead = take_fresh(w.path);
  const Index& index = ahead != nullptr ? *ahead : current_index(w);
  std::map<std::string_view, const Dir*> by_rel;
  for (const auto& dir : index.dirs) {
    by_rel.emplace(dir.rel, &dir);
  }
  std::vector<std::string> out;
  // Paths as find prints them below IT/K (no doubled slash).
  collect(by_rel, w.root, "", names, out);
  return out;
}

} // namespace core
