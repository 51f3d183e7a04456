#include "core/make_probe.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <unistd.h>

// The evaluator mirrors GNU make 4.3 (read.c, variable.c, expand.c,
// function.c) for a small subset; every construct outside it ends the
// evaluation with Unsupported so that the caller runs the real make.
namespace core {
namespace {

struct Unsupported {};

[[noreturn]] void unsupported() {
  throw Unsupported{};
}

// Variables make itself defines with origin "default" (`make -p -f /dev/null`)
// that a makefile may redefine without side effects; their default values
// are not modelled, so using one the file did not assign is unsupported.
constexpr std::string_view k_rule_variables[] = {
    "AR",      "ARFLAGS", "AS",     "CC",  "CO",       "COFLAGS", "CPP",
    "CTANGLE", "CWEAVE",  "CXX",    "F77", "F77FLAGS", "FC",      "GET",
    "LD",      "LEX",     "LINT",   "M2C", "MAKEINFO", "OBJC",    "OUTPUT_OPTION",
    "PC",      "RM",      "TANGLE", "TEX", "TEXI2DVI", "WEAVE",   "YACC",
};

// Variables make sets or reads itself: assigning, using or (except SHELL,
// which make never takes from the environment) inheriting one changes what
// make does or prints, so any of them is unsupported.
constexpr std::string_view k_special_variables[] = {
    "CURDIR",       "GNUMAKEFLAGS",    "GPATH",     "MAKE",          "MAKECMDGOALS",
    "MAKEFILES",    "MAKEFILE_LIST",   "MAKEFLAGS", "MAKELEVEL",     "MAKEOVERRIDES",
    "MAKESHELL",    "MAKE_COMMAND",    "MAKE_HOST", "MAKE_RESTARTS", "MAKE_TERMERR",
    "MAKE_TERMOUT", "MAKE_VERSION",    "MFLAGS",    "SHELL",         "SUFFIXES",
    "VPATH",        "POSIXLY_CORRECT",
};

// Words that start a directive rather than name a variable.
constexpr std::string_view k_directives[] = {
    "define",  "else",     "endef",    "endif",    "export", "ifdef",
    "ifeq",    "ifndef",   "ifneq",    "include",  "load",   "override",
    "private", "sinclude", "undefine", "unexport", "vpath",
};

// Constant tables, not std::set: built at compile time, so a dkms run that
// never probes pays nothing for them at startup.
template <size_t N>
bool listed(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool is_plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
}

// Origins in make's precedence order: a definition replaces another only if
// its origin is at least as strong.
enum class Origin { builtin, environment, file, override_directive };

struct Variable {
  std::string value;
  bool recursive = true;
  bool unknown = false; // make's built-in value, not modelled
  Origin origin = Origin::file;
};

using Table = std::map<std::string, Variable, std::less<>>;

// Index of the `close` that ends a reference opened just before `from`,
// counting only the same kind of bracket, as make does; npos if none.
size_t matching_close(std::string_view text, size_t from, char open, char close) {
  int depth = 0;
  for (size_t i = from; i < text.size(); ++i) {
    if (text[i] == open) {
      ++depth;
    } else if (text[i] == close && --depth < 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

class Expander {
public:
  explicit Expander(const Table& table) : m_table(table) {}

  std::string expand(std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      if (text[i] != '$') {
        out += text[i++];
        continue;
      }
      if (i + 1 >= text.size()) {
        unsupported();
      }
      char next = text[i + 1];
      if (next == '$') {
        out += '$';
        i += 2;
      } else if (next == '(' || next == '{') {
        i = expand_reference(text, i + 2, next, out);
      } else {
        out += value_of(std::string(1, next));
        i += 2;
      }
    }
    return out;
  }

  std::string value_of(const std::string& name) {
    if (!is_plain_name(name)) {
      unsupported(); // automatic ($@ ...), computed odd names, $(a:b=c)
    }
    auto it = m_table.find(name);
    if (it == m_table.end()) {
      return {};
    }
    const Variable& var = it->second;
    if (var.unknown) {
      unsupported();
    }
    if (!var.recursive) {
      return var.value;
    }
    if (!m_expanding.insert(name).second) {
      unsupported(); // make stops: variable references itself
    }
    std::string result = expand(var.value);
    m_expanding.erase(name);
    return result;
  }

private:
  // Expands the $( or ${ reference whose body starts at `body`; returns the
  // index just after it.
  size_t expand_reference(std::string_view text, size_t body, char open,
                          std::string& out) {
    char close = open == '(' ? ')' : '}';
    size_t word_end = body;
    while (word_end < text.size() &&
           (std::islower(static_cast<unsigned char>(text[word_end])) != 0 ||
            text[word_end] == '-')) {
      ++word_end;
    }
    if (word_end > body && word_end < text.size() && is_blank(text[word_end])) {
      if (text.substr(body, word_end - body) != "if") {
        unsupported(); // another make function, or a name with blanks
      }
      size_t end = matching_close(text, body, open, close);
      if (end == std::string_view::npos) {
        unsupported();
      }
      out += expand_if(text.substr(word_end, end - word_end), open, close);
      return end + 1;
    }
    size_t first_close = text.find(close, body);
    if (first_close == std::string_view::npos) {
      unsupported();
    }
    std::string_view plain = text.substr(body, first_close - body);
    if (plain.find('$') == std::string_view::npos) {
      out += value_of(std::string(plain));
      return first_close + 1;
    }
    // A computed name: make counts brackets only when a `$` precedes the
    // first closing one.
    size_t end = matching_close(text, body, open, close);
    if (end == std::string_view::npos) {
      unsupported();
    }
    out += value_of(expand(text.substr(body, end - body)));
    return end + 1;
  }

  // $(if COND,THEN[,ELSE]): COND is stripped, then expanded; any non-empty
  // expansion (even blanks) is true. At most 3 arguments: the last takes the
  // remaining commas.
  std::string expand_if(std::string_view args_text, char open, char close) {
    size_t start = 0;
    while (start < args_text.size() && is_blank(args_text[start])) {
      ++start;
    }
    args_text.remove_prefix(start);
    std::vector<std::string_view> args;
    while (true) {
      size_t comma = std::string_view::npos;
      if (args.size() < 2) {
        int depth = 0;
        for (size_t i = 0; i < args_text.size(); ++i) {
          char c = args_text[i];
          if (c == open) {
            ++depth;
          } else if (c == close && --depth < 0) {
            break;
          } else if (c == ',' && depth == 0) {
            comma = i;
            break;
          }
        }
      }
      if (comma == std::string_view::npos) {
        args.push_back(args_text);
        break;
      }
      args.push_back(args_text.substr(0, comma));
      args_text.remove_prefix(comma + 1);
    }
    if (args.size() < 2) {
      unsupported(); // make stops: too few arguments
    }
    std::string_view cond = args[0];
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!cond.empty() && space(cond.front())) {
      cond.remove_prefix(1);
    }
    while (!cond.empty() && space(cond.back())) {
      cond.remove_suffix(1);
    }
    bool truth = !cond.empty() && !expand(cond).empty();
    if (truth) {
      return expand(args[1]);
    }
    return args.size() > 2 ? expand(args[2]) : std::string();
  }

  const Table& m_table;
  std::set<std::string> m_expanding;
};

enum class Op { recursive, simple, conditional, append };

// One `[override ]NAME OP VALUE` line; unsupported unless it is exactly that.
struct Assignment {
  bool override_directive = false;
  std::string name;
  Op op = Op::recursive;
  std::string value;
};

Assignment parse_assignment(std::string_view line) {
  Assignment a;
  size_t i = line.find_first_not_of(' ');
  auto word_end = [&](size_t from) {
    size_t e = from;
    while (e < line.size() && is_name_char(line[e])) {
      ++e;
    }
    return e;
  };
  size_t e = word_end(i);
  if (line.substr(i, e - i) == "override" && e < line.size() && line[e] == ' ') {
    a.override_directive = true;
    i = line.find_first_not_of(' ', e);
    if (i == std::string_view::npos) {
      unsupported();
    }
    e = word_end(i);
  }
  a.name = std::string(line.substr(i, e - i));
  // PATH would change which echo the recipe runs.
  if (a.name.empty() || a.name == "PATH" || listed(k_directives, a.name) ||
      listed(k_special_variables, a.name)) {
    unsupported();
  }
  size_t op = line.find_first_not_of(' ', e);
  if (op == std::string_view::npos) {
    unsupported();
  }
  std::string_view rest = line.substr(op);
  static const std::pair<std::string_view, Op> k_ops[] = {
      {"::=", Op::simple}, {":=", Op::simple},   {"?=", Op::conditional},
      {"+=", Op::append},  {"=", Op::recursive},
  };
  for (const auto& [token, kind] : k_ops) {
    if (util::starts_with(rest, token)) {
      rest.remove_prefix(token.size());
      size_t v = rest.find_first_not_of(' ');
      a.value = v == std::string_view::npos ? std::string() : std::string(rest.substr(v));
      a.op = kind;
      return a;
    }
  }
  unsupported();
}

void assign(Table& table, const Assignment& a) {
  Origin origin = a.override_directive ? Origin::override_directive : Origin::file;
  auto it = table.find(a.name);
  bool exists = it != table.end();
  if (a.op == Op::conditional && exists) {
    return; // defined anywhere, even by the environment or make: untouched
  }
  Variable var;
  var.origin = origin;
  if (a.op == Op::simple) {
    // Expanded even if the definition is then ignored, as make does.
    var.value = Expander(table).expand(a.value);
    var.recursive = false;
  } else if (a.op == Op::append && exists) {
    const Variable& old = it->second;
    std::string added = old.recursive ? a.value : Expander(table).expand(a.value);
    var.value = old.value.empty() ? added : old.value + " " + added;
    var.recursive = old.recursive;
    var.unknown = old.unknown;
  } else {
    var.value = a.value;
  }
  if (exists && it->second.origin > origin) {
    return; // a plain assignment cannot change an override variable
  }
  table[a.name] = std::move(var);
}

enum class Directive { none, ifdef, ifndef, ifeq, ifneq, else_, endif };

Directive conditional_kind(std::string_view word) {
  static const std::pair<std::string_view, Directive> k_words[] = {
      {"ifdef", Directive::ifdef}, {"ifndef", Directive::ifndef},
      {"ifeq", Directive::ifeq},   {"ifneq", Directive::ifneq},
      {"else", Directive::else_},  {"endif", Directive::endif},
  };
  for (const auto& [text, kind] : k_words) {
    if (word == text) {
      return kind;
    }
  }
  return Directive::none;
}

std::string_view skip_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) {
    s.remove_prefix(1);
  }
  return s;
}

// The first blank-delimited word of `s` and what follows it after blanks.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  size_t end = std::min(s.find_first_of(" \t"), s.size());
  return {s.substr(0, end), skip_blanks(s.substr(end))};
}

// make's stack of open conditionals (read.c conditional_line): each level is
// reading its branch, waiting for one (none taken yet) or done (one was
// taken); a line is skipped while any level is not reading.
class Conditionals {
public:
  explicit Conditionals(const Table& table) : m_table(table) {}

  // Applies the conditional directive `kind` with its text `rest`; returns
  // whether the following lines are skipped.
  bool apply(Directive kind, std::string_view rest) {
    if (kind == Directive::endif) {
      if (!rest.empty() || m_levels.empty()) {
        unsupported(); // make: extraneous text / extraneous 'endif'
      }
      m_levels.pop_back();
    } else if (kind == Directive::else_) {
      apply_else(rest);
    } else {
      open(kind, rest);
    }
    return skipping();
  }

  bool all_closed() const { return m_levels.empty(); }

private:
  enum class State { reading, waiting, done };
  struct Level {
    State state;
    bool seen_else;
  };

  bool skipping() const {
    return std::any_of(m_levels.begin(), m_levels.end(),
                       [](const Level& l) { return l.state != State::reading; });
  }

  void apply_else(std::string_view rest) {
    if (m_levels.empty() || m_levels.back().seen_else) {
      unsupported(); // make stops: extraneous 'else' / only one 'else'
    }
    size_t o = m_levels.size() - 1;
    State& state = m_levels[o].state;
    state = state == State::reading   ? State::done
            : state == State::waiting ? State::reading
                                      : state;
    if (rest.empty()) {
      m_levels[o].seen_else = true;
      return;
    }
    // `else ifeq ...`: the nested test decides this level's state; it is
    // not even parsed when an earlier branch was taken, as in make.
    auto [word, after] = split_word(rest);
    Directive kind = conditional_kind(word);
    if (kind == Directive::none || kind == Directive::else_ || kind == Directive::endif) {
      unsupported(); // make: extraneous text after 'else'
    }
    open(kind, after);
    if (m_levels[o].state != State::done) {
      m_levels[o].state = m_levels[o + 1].state;
    }
    m_levels.pop_back();
  }

  void open(Directive kind, std::string_view rest) {
    bool outer_skipping = skipping();
    m_levels.push_back({State::waiting, false});
    if (outer_skipping) {
      return; // make neither expands nor checks the condition
    }
    bool truth = kind == Directive::ifdef || kind == Directive::ifndef
                     ? is_defined(rest) == (kind == Directive::ifdef)
                     : arguments_equal(rest) == (kind == Directive::ifeq);
    m_levels.back().state = truth ? State::reading : State::waiting;
  }

  // ifdef: the expansion must be one word naming a variable whose
  // unexpanded value is not empty.
  bool is_defined(std::string_view rest) {
    std::string expanded = Expander(m_table).expand(rest);
    auto [name, extra] = split_word(expanded);
    if (!extra.empty() || !is_plain_name(name)) {
      unsupported(); // make stops on several words; odd names not modelled
    }
    auto it = m_table.find(name);
    if (it != m_table.end() && it->second.unknown) {
      unsupported();
    }
    return it != m_table.end() && !it->second.value.empty();
  }

  // ifeq/ifneq arguments, `(a,b)` or quoted with " or ': in the paren form
  // blanks before the comma and after it are dropped, those after `(` and
  // before `)` are kept; parentheses are counted, braces are not.
  bool arguments_equal(std::string_view line) {
    char termin = line.empty() ? '\0' : line[0] == '(' ? ',' : line[0];
    if (termin != ',' && termin != '"' && termin != '\'') {
      unsupported(); // make stops: invalid syntax in conditional
    }
    line.remove_prefix(1);
    size_t end = termin == ',' ? paren_end(line, ',') : line.find(termin);
    if (end >= line.size()) {
      unsupported();
    }
    std::string_view first = line.substr(0, end);
    while (termin == ',' && !first.empty() && is_blank(first.back())) {
      first.remove_suffix(1);
    }
    line = skip_blanks(line.substr(end + 1));
    std::string first_value = Expander(m_table).expand(first);
    std::string_view second;
    if (termin == ',') {
      end = paren_end(line, ')');
    } else {
      termin = line.empty() ? '\0' : line[0];
      if (termin != '"' && termin != '\'') {
        unsupported();
      }
      line.remove_prefix(1);
      end = line.find(termin);
    }
    if (end >= line.size()) {
      unsupported();
    }
    second = line.substr(0, end);
    if (!skip_blanks(line.substr(end + 1)).empty()) {
      unsupported(); // make: extraneous text after the directive
    }
    return first_value == Expander(m_table).expand(second);
  }

  // Index of the `stop` (',' or ')') outside parentheses; npos if none.
  static size_t paren_end(std::string_view s, char stop) {
    int count = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == stop && count <= 0) {
        return i;
      }
      if (s[i] == '(') {
        ++count;
      } else if (s[i] == ')') {
        --count;
      }
    }
    return std::string_view::npos;
  }

  const Table& m_table;
  std::vector<Level> m_levels;
};

// Make's own variables, then the environment as make imports it.
Table initial_table(const std::vector<std::string>& env) {
  Table table;
  for (std::string_view name : k_rule_variables) {
    table[std::string(name)] = Variable{{}, true, true, Origin::builtin};
  }
  for (std::string_view name : k_special_variables) {
    table[std::string(name)] = Variable{{}, true, true, Origin::builtin};
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      unsupported();
    }
    std::string name = entry.substr(0, eq);
    if (name.empty() || name[0] == '.' || name[0] == '-' || !seen.insert(name).second) {
      unsupported(); // .RECIPEPREFIX, .SHELLFLAGS, make's -*-...-*- names
    }
    if (!is_plain_name(name)) {
      continue; // e.g. BASH_FUNC_f%%: make imports it, but no reference here can name it
    }
    if (name == "SHELL" || listed(k_rule_variables, name)) {
      continue; // SHELL is ignored; a rule variable's value stays unknown
    }
    if (listed(k_special_variables, name)) {
      unsupported();
    }
    table[name] = Variable{entry.substr(eq + 1), true, false, Origin::environment};
  }
  return table;
}

std::optional<std::string> env_value(const std::vector<std::string>& env,
                                     std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry[name.size()] == '=' &&
        util::starts_with(entry, name)) {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

// Make runs a recipe line without shell metacharacters by looking `echo` up
// in PATH itself; accept only the system's echo.
bool echo_is_system(const std::vector<std::string>& env) {
  auto path = env_value(env, "PATH");
  if (!path) {
    return false;
  }
  for (const auto& dir : util::split(*path, ':')) {
    if (!util::starts_with(dir, "/")) {
      return false; // relative to the current directory: don't guess
    }
    if (util::lexists(dir + "/echo")) {
      return (dir == "/usr/bin" || dir == "/bin") &&
             util::is_executable_file(dir + "/echo");
    }
  }
  return false;
}

// `make -f -` copies stdin to a file in TMPDIR (default /tmp) and stops if
// it cannot.
bool tmpdir_usable(const std::vector<std::string>& env) {
  std::string dir = env_value(env, "TMPDIR").value_or("/tmp");
  return util::is_dir(dir) && access(dir.c_str(), W_OK | X_OK) == 0;
}

bool is_echo_safe(char c) {
  static constexpr std::string_view k_punct = " _./+-=:,@%";
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         k_punct.find(c) != std::string_view::npos;
}

std::optional<std::string> evaluate(std::string_view text, std::string_view name,
                                    const std::vector<std::string>& env) {
  Table table = initial_table(env);
  Conditionals conditionals(table);
  bool skipping = false;
  for (const auto& line : util::split(text, '\n')) {
    size_t first = line.find_first_not_of(' ');
    if (line.find_first_of(std::string_view("\\\0", 2)) != std::string::npos) {
      unsupported(); // continuation lines, escapes, NUL (make drops the rest)
    }
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    for (char c : line) {
      if (c < 0x20 || c > 0x7e || c == '#') {
        unsupported(); // tabs (recipes), CR, inline comments, non-ASCII
      }
    }
    auto [word, rest] = split_word(std::string_view(line).substr(first));
    Directive kind = conditional_kind(word);
    if (kind != Directive::none) {
      if (!rest.empty() &&
          std::string_view("=:+?!").find(rest[0]) != std::string_view::npos) {
        // Maybe an assignment to a variable named like the directive (make
        // checks that first); in a skipped branch it would open no level.
        unsupported();
      }
      skipping = conditionals.apply(kind, rest);
    } else if (skipping) {
      // make skips these lines unread, except that `define` would swallow
      // the lines up to its `endef`.
      auto words = util::split_words(line);
      if (std::find(words.begin(), words.end(), "define") != words.end()) {
        unsupported();
      }
    } else {
      assign(table, parse_assignment(line));
    }
  }
  if (!conditionals.all_closed()) {
    unsupported(); // make stops: missing 'endif'
  }
  std::string value = Expander(table).value_of(std::string(name));
  if (!std::all_of(value.begin(), value.end(), is_echo_safe)) {
    return std::nullopt;
  }
  auto words = util::split_words(value);
  if (!words.empty() && words.front().front() == '-') {
    return std::nullopt; // echo would take it as an option
  }
  return util::join(words, " ");
}

} // namespace

std::optional<std::string> probe_make_variable(std::string_view text,
                                               std::string_view name,
                                               const std::vector<std::string>& env) {
  if (!is_plain_name(name) || util::lexists("show-" + std::string(name)) ||
      !echo_is_system(env) || !tmpdir_usable(env)) {
    return std::nullopt; // an existing show-NAME file is "up to date" for make
  }
  try {
    return evaluate(text, name, env);
  } catch (const Unsupported&) {
    return std::nullopt;
  }
}

} // namespace core
