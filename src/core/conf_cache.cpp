#include "core/conf_cache.hpp"

#include "core/tree.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

// Bumped whenever the layout changes, so older records simply miss.
constexpr const char* k_format = "dkms-conf-cache 3";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Bash variables whose value changes by itself or comes from the process
// state: never trusted, even after the file assigned them.
bool is_dynamic_name(const std::string& name) {
  static const std::set<std::string> names = {
      "RANDOM", "SRANDOM", "SECONDS",      "EPOCHSECONDS", "EPOCHREALTIME", "BASHPID",
      "LINENO", "PPID",    "BASH_COMMAND", "BASH_SOURCE",  "BASH_LINENO",   "FUNCNAME",
      "PWD",    "OLDPWD",  "HOSTNAME",     "PIPESTATUS",   "UID",           "EUID",
      "GROUPS", "HISTCMD", "BASH_ARGV",    "BASH_ARGC",    "BASH_SUBSHELL", "SHLVL"};
  return names.count(name) != 0;
}

// Characters that make a value depend on more than the text: globbing in
// upstream's unquoted echo (* ? [), tilde expansion (~), command
// substitution (`), prompt/array expansions (@), and CR or NUL bytes.
bool is_unsafe_char(char c) {
  return c == '*' || c == '?' || c == '[' || c == '~' || c == '`' || c == '@' ||
         c == '\r' || c == '\0';
}

// A conservative recogniser for "static" conf text: a sequence of simple
// commands made only of assignment words (NAME=, NAME[digits]=, NAME+=),
// separated by blanks, ';' or newlines, with comments. Values are quoted
// or unquoted text plus $NAME / ${NAME...} expansions of trusted names.
// Text inside single quotes is expanded once more by upstream's second
// pass in the main shell, where only dkms's variables and conf names
// exist, so names the file itself assigned are not trusted there.
class StaticScanner {
public:
  StaticScanner(const std::string& text, const std::set<std::string>& known,
                std::set<std::string>* referenced)
      : m_text(text), m_known(known), m_referenced(referenced) {}

  bool run() {
    size_t words = 0;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == ' ' || c == '\t') {
        ++m_pos;
      } else if (c == '\n') {
        words = 0;
        ++m_pos;
      } else if (c == ';') {
        if (words == 0) {
          return false; // ";;" or a leading ';': case syntax or an error
        }
        words = 0;
        ++m_pos;
      } else if (c == '#') {
        while (m_pos < m_text.size() && m_text[m_pos] != '\n') {
          ++m_pos;
        }
      } else {
        if (!assignment()) {
          return false;
        }
        ++words;
      }
    }
    return true;
  }

private:
  char at(size_t i) const { return i < m_text.size() ? m_text[i] : '\0'; }

  bool trusted(const std::string& name, bool deferred) {
    if (is_dynamic_name(name)) {
      return false;
    }
    if (m_known.count(name) != 0) {
      if (m_referenced != nullptr) {
        m_referenced->insert(name);
      }
      return true;
    }
    return !deferred && m_assigned.count(name) != 0;
  }

  std::string name() {
    size_t start = m_pos;
    if (!util::is_shell_name_start(at(m_pos))) {
      return {};
    }
    while (util::is_shell_name_char(at(m_pos))) {
      ++m_pos;
    }
    return m_text.substr(start, m_pos - start);
  }

  bool digits_subscript() {
    if (at(m_pos) != '[') {
      return true;
    }
    size_t start = ++m_pos;
    while (is_digit(at(m_pos))) {
      ++m_pos;
    }
    if (m_pos == start || at(m_pos) != ']') {
      return false;
    }
    ++m_pos;
    return true;
  }

  // At '$'. Positional parameters are the constant names text.
  bool dollar(bool deferred) {
    ++m_pos;
    char c = at(m_pos);
    if (is_digit(c)) {
      ++m_pos;
      return true;
    }
    if (util::is_shell_name_start(c)) {
      return trusted(name(), deferred);
    }
    if (c != '{') {
      return false; // $(, $[, $', $", $$, $#, $? ...
    }
    ++m_pos;
    if (at(m_pos) == '#') {
      ++m_pos;
      if (at(m_pos) == '}') {
        ++m_pos;
        return true;
      }
    }
    std::string n = name();
    if (n.empty() || !trusted(n, deferred) || !digits_subscript()) {
      return false;
    }
    if (at(m_pos) == '}') {
      ++m_pos;
      return true;
    }
    if (std::strchr(":-+=%#/^,", at(m_pos)) == nullptr) {
      return false;
    }
    // The operand: plain text and nested expansions, no quoting.
    while (m_pos < m_text.size() && at(m_pos) != '}') {
      char d = at(m_pos);
      if (d == '$') {
        if (!dollar(deferred)) {
          return false;
        }
        continue;
      }
      if (is_unsafe_char(d) || d == '"' || d == '\'' || d == '\\' || d == '{') {
        return false;
      }
      ++m_pos;
    }
    if (at(m_pos) != '}') {
      return false;
    }
    ++m_pos;
    return true;
  }

  bool single_quoted() {
    ++m_pos;
    while (m_pos < m_text.size() && at(m_pos) != '\'') {
      char c = at(m_pos);
      if (c == '$') {
        if (!dollar(true)) {
          return false;
        }
        continue;
      }
      // The second pass reads this text inside double quotes.
      if (is_unsafe_char(c) || c == '"' || c == '\\') {
        return false;
      }
      ++m_pos;
    }
    if (at(m_pos) != '\'') {
      return false;
    }
    ++m_pos;
    return true;
  }

  bool double_quoted() {
    ++m_pos;
    while (m_pos < m_text.size() && at(m_pos) != '"') {
      char c = at(m_pos);
      if (c == '$') {
        if (!dollar(false)) {
          return false;
        }
        continue;
      }
      if (c == '\\') {
        if (at(m_pos + 1) != '\n') {
          return false;
        }
        m_pos += 2;
        continue;
      }
      if (is_unsafe_char(c)) {
        return false;
      }
      ++m_pos;
    }
    if (at(m_pos) != '"') {
      return false;
    }
    ++m_pos;
    return true;
  }

  bool value() {
    while (m_pos < m_text.size()) {
      char c = at(m_pos);
      if (c == ' ' || c == '\t' || c == '\n' || c == ';') {
        return true;
      }
      bool ok = true;
      if (c == '\'') {
        ok = single_quoted();
      } else if (c == '"') {
        ok = double_quoted();
      } else if (c == '$') {
        ok = dollar(false);
      } else if (c == '\\' && at(m_pos + 1) == '\n') {
        m_pos += 2;
      } else if (c == '\\' || is_unsafe_char(c) ||
                 std::strchr("|&<>(){}", c) != nullptr) {
        return false;
      } else {
        ++m_pos;
      }
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  bool assignment() {
    std::string n = name();
    if (n.empty()) {
      return false;
    }
    bool subscript = at(m_pos) == '[';
    if (!digits_subscript()) {
      return false;
    }
    bool append = at(m_pos) == '+';
    if (append) {
      ++m_pos;
      // Appending to a name we do not know would append to the environment.
      if (!trusted(n, false)) {
        return false;
      }
    }
    if (at(m_pos) != '=') {
      return false; // a command word
    }
    ++m_pos;
    if (!value()) {
      return false;
    }
    // Only a whole scalar assignment makes $NAME independent of the
    // environment.
    if (!subscript && !append) {
      m_assigned.insert(n);
    }
    return true;
  }

  const std::string& m_text;
  const std::set<std::string>& m_known;
  std::set<std::string>* m_referenced;
  std::set<std::string> m_assigned;
  size_t m_pos = 0;
};

// Length-prefixed fields, so any byte may appear in a value.
void put(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '\n';
}

class FieldReader {
public:
  explicit FieldReader(const std::string& data) : m_data(data) {}
  bool next(std::string& field) {
    size_t colon = m_data.find(':', m_pos);
    if (colon == std::string::npos || colon == m_pos || colon - m_pos > 9) {
      return false;
    }
    size_t len = 0;
    for (size_t i = m_pos; i < colon; ++i) {
      if (!is_digit(m_data[i])) {
        return false;
      }
      len = len * 10 + static_cast<size_t>(m_data[i] - '0');
    }
    if (colon + 1 + len >= m_data.size() || m_data[colon + 1 + len] != '\n') {
      return false;
    }
    field = m_data.substr(colon + 1, len);
    m_pos = colon + 2 + len;
    return true;
  }
  bool at_end() const { return m_pos == m_data.size(); }

private:
  const std::string& m_data;
  size_t m_pos = 0;
};

struct FileStamp {
  std::string text; // the key field
  long long newest_change_ns = 0;
};

FileStamp stamp_of(const std::string& path, const struct stat& st) {
  long long mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  long long ctime = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  std::string text = path + " " + std::to_string(st.st_dev) + " " +
                     std::to_string(st.st_ino) + " " + std::to_string(st.st_size) + " " +
                     std::to_string(st.st_mode) + " " + std::to_string(mtime) + " " +
                     std::to_string(ctime);
  return {text, std::max(mtime, ctime)};
}

FileStamp stamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return {path + " absent", 0};
  }
  return stamp_of(path, st);
}

// The names in dir, from one listing per process that is read again when
// the directory changes: status asks about six /etc/dkms override
// candidates per entry, and nearly all are absent. nullptr: unknown (the
// directory cannot be read), stat each file instead.
const std::set<std::string>* names_in(const std::string& dir) {
  struct Listing {
    std::string stamp;
    std::set<std::string> names;
  };
  static std::map<std::string, Listing> listings;
  static const std::set<std::string> none;
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return errno == ENOENT || errno == ENOTDIR ? &none : nullptr;
  }
  const std::string dir_stamp = stamp_of(dir, st).text;
  Listing& listing = listings[dir];
  if (listing.stamp != dir_stamp) {
    auto entries = util::read_dir(dir);
    if (!entries) {
      listings.erase(dir);
      return nullptr;
    }
    listing.names.clear();
    for (const auto& e : *entries) {
      listing.names.insert(e.name);
    }
    listing.stamp = dir_stamp;
  }
  return &listing.names;
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& vars,
                     const std::string& name, bool& found) {
  for (const auto& [n, v] : vars) {
    if (n == name) {
      found = true;
      return v;
    }
  }
  found = false;
  return {};
}

// A count field: decimal, at most max_digits digits.
bool next_count(FieldReader& in, size_t max_digits, int& count) {
  std::string field;
  if (!in.next(field) || field.empty() || field.size() > max_digits) {
    return false;
  }
  count = std::atoi(field.c_str());
  return true;
}

bool next_flag(FieldReader& in, bool& flag) {
  std::string field;
  if (!in.next(field) || (field != "yes" && field != "no")) {
    return false;
  }
  flag = field == "yes";
  return true;
}

void put_flag(std::string& out, bool flag) {
  put(out, flag ? "yes" : "no");
}

// A record read back: what status needs, and the evaluated values when
// asked for (status reads ~100 records per run and needs none of them).
struct Loaded {
  StatusConf status;
  ShellValues values;
};

std::optional<Loaded>
load_record(const Context& ctx, const std::string& path,
            const std::vector<std::string>& key_fields,
            const std::vector<std::pair<std::string, std::string>>& vars,
            bool with_values) {
  auto data = util::read_file(path);
  if (!data) {
    return std::nullopt;
  }
  Loaded loaded;
  StatusConf& conf = loaded.status;
  FieldReader in(*data);
  std::string field;
  for (const auto& expected : key_fields) {
    if (!in.next(field) || field != expected) {
      return std::nullopt;
    }
  }
  int count = 0;
  if (!next_count(in, 3, count)) {
    return std::nullopt;
  }
  for (; count > 0; --count) {
    std::string name, stored;
    bool found = false;
    if (!in.next(name) || !in.next(stored) || value_of(vars, name, found) != stored ||
        !found) {
      return std::nullopt;
    }
  }
  if (!next_count(in, 4, count)) {
    return std::nullopt;
  }
  for (; count > 0; --count) {
    ModuleSlot slot;
    if (!in.next(slot.built_name) || !in.next(slot.built_location) ||
        !in.next(slot.dest_name) || !in.next(slot.dest_location) ||
        !next_flag(in, slot.strip)) {
      return std::nullopt;
    }
    slot.install_location = effective_location(ctx, slot.dest_location);
    conf.modules.push_back(std::move(slot));
  }
  if (!next_count(in, 4, count)) {
    return std::nullopt;
  }
  for (; count > 0; --count) {
    if (!in.next(field)) {
      return std::nullopt;
    }
    conf.build_depends.push_back(field);
  }
  if (!next_flag(in, conf.build_depends_rebuild) || !next_count(in, 3, count)) {
    return std::nullopt;
  }
  for (; count > 0; --count) {
    std::string name;
    int elements = 0;
    if (!in.next(name) || !next_count(in, 6, elements)) {
      return std::nullopt;
    }
    ConfArray* array = with_values ? &loaded.values[name] : nullptr;
    for (; elements > 0; --elements) {
      std::string index, value;
      if (!in.next(index) || index.empty() || index.size() > 9 ||
          index.find_first_not_of("0123456789") != std::string::npos || !in.next(value)) {
        return std::nullopt;
      }
      if (array != nullptr) {
        (*array)[static_cast<unsigned>(std::stoul(index))] = std::move(value);
      }
    }
  }
  if (!in.at_end()) {
    return std::nullopt;
  }
  return loaded;
}

void store_record(const std::string& path, const std::vector<std::string>& key_fields,
                  const std::vector<std::pair<std::string, std::string>>& keyed_vars,
                  const DkmsConf& conf, const ShellValues& values) {
  std::string data;
  for (const auto& f : key_fields) {
    put(data, f);
  }
  put(data, std::to_string(keyed_vars.size()));
  for (const auto& [name, value] : keyed_vars) {
    put(data, name);
    put(data, value);
  }
  put(data, std::to_string(conf.modules.size()));
  for (const auto& s : conf.modules) {
    put(data, s.built_name);
    put(data, s.built_location);
    put(data, s.dest_name);
    put(data, s.dest_location);
    put_flag(data, s.strip);
  }
  put(data, std::to_string(conf.build_depends.size()));
  for (const auto& bd : conf.build_depends) {
    put(data, bd);
  }
  put_flag(data, conf.build_depends_rebuild);
  put(data, std::to_string(values.size()));
  for (const auto& [name, array] : values) {
    put(data, name);
    put(data, std::to_string(array.size()));
    for (const auto& [index, value] : array) {
      put(data, std::to_string(index));
      put(data, value);
    }
  }
  write_cache_record(path, data);
}

StatusConf status_part(DkmsConf&& conf) {
  return StatusConf{std::move(conf.modules), std::move(conf.build_depends),
                    conf.build_depends_rebuild};
}

} // namespace

void write_cache_record(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp.XXXXXX";
  // Close-on-exec: a module-index check ahead writes its record while the
  // main thread starts make.
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  bool ok = fchmod(fd, 0644) == 0 &&
            write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
  }
}

bool is_static_conf(const std::string& text, const std::set<std::string>& known,
                    std::set<std::string>* referenced) {
  return StaticScanner(text, known, referenced).run();
}

std::string conf_cache_path(const Context& ctx, const ConfRequest& request) {
  return version_dir(ctx, request.module, request.version) + "/.conf-cache-" +
         request.target.kernel + "-" + request.target.arch;
}

ConfRecord::ConfRecord(Context& ctx, const ConfRequest& request)
    : m_ctx(ctx), m_request(request) {
  m_applies = ctx.opts.directives.empty() && !request.main_file.empty() &&
              access(request.main_file.c_str(), R_OK) == 0;
  if (!m_applies) {
    return;
  }
  m_path = conf_cache_path(ctx, request);
  m_fields = {k_format, request.module, request.version, request.target.kernel,
              request.target.arch};
  std::vector<std::string> files = {request.main_file};
  for (const auto& f : conf_override_candidates(ctx, request)) {
    files.push_back(f);
  }
  const std::set<std::string>* etc_names = names_in(ctx.sys.etc_dkms);
  for (const auto& f : files) {
    bool listed_absent = f != request.main_file && etc_names != nullptr &&
                         util::dirname(f) == ctx.sys.etc_dkms &&
                         etc_names->count(util::basename(f)) == 0;
    FileStamp s = listed_absent ? FileStamp{f + " absent", 0} : stamp(f);
    m_fields.push_back(s.text);
    m_newest_change_ns = std::max(m_newest_change_ns, s.newest_change_ns);
    if (s.newest_change_ns != 0) {
      m_chain.push_back(f);
    }
  }
  // The evaluator's shell and what changes how it starts or parses.
  static const std::string bash_stamp = stamp("/bin/bash").text;
  m_fields.push_back(bash_stamp);
  for (const char* name :
       {"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "POSIXLY_CORRECT"}) {
    const char* v = getenv(name);
    m_fields.push_back(v == nullptr ? std::string(name) + " unset"
                                    : std::string(name) + "=" + v);
  }
  m_vars = conf_shell_variables(ctx, request);
}

std::optional<StatusConf> ConfRecord::load() const {
  auto loaded =
      m_applies ? load_record(m_ctx, m_path, m_fields, m_vars, false) : std::nullopt;
  return loaded ? std::optional(std::move(loaded->status)) : std::nullopt;
}

std::optional<ShellValues> ConfRecord::load_values() const {
  auto loaded =
      m_applies ? load_record(m_ctx, m_path, m_fields, m_vars, true) : std::nullopt;
  if (!loaded) {
    return std::nullopt;
  }
  if (m_request.strictness == Strictness::strict) {
    // A strict read prints "Deprecated feature" lines for these; a record
    // holds only evaluations that printed nothing, maybe lenient ones.
    for (const auto& [name, array] : loaded->values) {
      if (is_deprecated_conf_name(name)) {
        return std::nullopt;
      }
    }
  }
  return std::move(loaded->values);
}

bool ConfRecord::storable(
    std::vector<std::pair<std::string, std::string>>& keyed_vars) const {
  // Captured or quiet text would hide whether the evaluation printed.
  if (!m_applies || m_ctx.out.capturing() || m_ctx.out.quiet() ||
      util::changed_too_recently(m_newest_change_ns)) {
    return false;
  }
  std::set<std::string> known;
  for (const auto& [name, value] : m_vars) {
    known.insert(name);
  }
  for (const auto& name : conf_accepted_names()) {
    known.insert(name);
  }
  std::set<std::string> referenced;
  for (const auto& file : m_chain) {
    auto text = util::read_file(file);
    if (!text || !is_static_conf(*text, known, &referenced)) {
      return false;
    }
  }
  for (const auto& [name, value] : m_vars) {
    if (referenced.count(name) != 0) {
      // The second pass would expand these characters again.
      if (value.find_first_of("$`\\\"") != std::string::npos) {
        return false;
      }
      keyed_vars.emplace_back(name, value);
    }
  }
  return true;
}

std::optional<DkmsConf> ConfRecord::read_through(
    const std::function<std::optional<DkmsConf>(ConfEvaluation&)>& evaluate) {
  ConfEvaluation evaluation;
  std::vector<std::pair<std::string, std::string>> keyed_vars;
  if (!storable(keyed_vars)) {
    return evaluate(evaluation);
  }
  Output& out = m_ctx.out;
  out.begin_capture();
  std::optional<DkmsConf> conf;
  try {
    conf = evaluate(evaluation);
  } catch (...) {
    out.replay(out.end_capture());
    throw;
  }
  auto chunks = out.end_capture();
  out.replay(chunks);
  if (conf && evaluation.evaluated && chunks.empty()) {
    store_record(m_path, m_fields, keyed_vars, *conf, *evaluation.evaluated);
  }
  return conf;
}

std::optional<StatusConf> read_status_conf(Context& ctx, const ConfRequest& request) {
  std::optional<DkmsConf> conf;
  // Captured or quiet text cannot be checked for silence: the plain way.
  if (ctx.out.capturing() || ctx.out.quiet()) {
    conf = read_dkms_conf(ctx, request);
  } else {
    ConfRecord record(ctx, request);
    if (auto cached = record.load()) {
      return cached;
    }
    conf = record.read_through([&](ConfEvaluation& evaluation) {
      return read_dkms_conf(ctx, request, nullptr, &evaluation);
    });
  }
  if (!conf) {
    return std::nullopt;
  }
  return status_part(std::move(*conf));
}

} // namespace core
