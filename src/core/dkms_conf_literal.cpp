#include "core/dkms_conf_literal.hpp"

#include "core/conf_cache.hpp"
#include "core/runner.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

namespace core {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Inside quotes: anything but what the second (double-quoted) pass would
// expand or end on, and what the unquoted echo would glob with (extglob
// is on). Bytes from 0x80 up are copied as they are by both passes.
bool is_quoted_literal_char(char c, char quote) {
  static constexpr std::string_view k_special = "$`\\\"*?[]()!";
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80 || c == '\t') {
    return true;
  }
  if (u < 0x20 || u == 0x7f) {
    return false;
  }
  if (c == '\'') {
    return quote == '"';
  }
  return k_special.find(c) == std::string_view::npos;
}

// A plain word: nothing bash would expand, split, glob, tilde-expand or
// take as a comment or an operator.
bool is_plain_word_char(char c) {
  static constexpr std::string_view k_punct = "_./:,+@%=-";
  return util::is_shell_name_char(c) || k_punct.find(c) != std::string_view::npos;
}

// One line of a file: nothing (blank or comment), an assignment, or
// nullopt when it is not in the subset.
struct Assignment {
  std::string name;
  unsigned index = 0;
  std::string value;
};

// Names bash gives a value of its own (or takes over from the environment
// and changes) at start-up, beyond bash_special_name's.
bool bash_sets_itself(std::string_view name) {
  static constexpr std::string_view k_names[] = {
      "HOSTNAME", "HOSTTYPE", "MACHTYPE", "OSTYPE", "PWD", "OLDPWD",
      "SHLVL",    "SHELL",    "TERM",     "PATH",   "HOME"};
  return bash_special_name(name) ||
         std::find(std::begin(k_names), std::end(k_names), name) != std::end(k_names);
}

class LineReader {
public:
  LineReader(const ShellChain& chain, const std::vector<std::string>& env,
             const std::set<std::string, std::less<>>& names, const ShellValues& values)
      : m_chain(chain), m_env(env), m_names(names), m_values(values) {}

  std::optional<std::optional<Assignment>> parse(std::string_view line) {
    m_line = line;
    m_pos = 0;
    skip_blanks();
    if (m_pos == m_line.size() || m_line[m_pos] == '#') {
      return std::optional<Assignment>();
    }
    Assignment a;
    a.name = name();
    if (a.name.empty()) {
      return std::nullopt;
    }
    if (at('[') && !subscript(a.index)) {
      return std::nullopt;
    }
    if (!at('=')) {
      return std::nullopt;
    }
    ++m_pos;
    bool ok = false;
    if (at('"')) {
      ok = double_quoted(a.value);
    } else if (at('\'')) {
      ok = single_quoted(a.value);
    } else {
      ok = plain_word(a.value);
    }
    if (!ok) {
      return std::nullopt;
    }
    // Only blanks and a comment may follow (no second word, no operator).
    if (m_pos < m_line.size() && !is_blank(m_line[m_pos])) {
      return std::nullopt;
    }
    skip_blanks();
    if (m_pos < m_line.size() && m_line[m_pos] != '#') {
      return std::nullopt;
    }
    return std::optional<Assignment>(std::move(a));
  }

private:
  bool at(char c) const { return m_pos < m_line.size() && m_line[m_pos] == c; }

  void skip_blanks() {
    while (m_pos < m_line.size() && is_blank(m_line[m_pos])) {
      ++m_pos;
    }
  }

  std::string name() {
    size_t start = m_pos;
    if (m_pos == m_line.size() || !util::is_shell_name_start(m_line[m_pos])) {
      return {};
    }
    while (m_pos < m_line.size() && util::is_shell_name_char(m_line[m_pos])) {
      ++m_pos;
    }
    return std::string(m_line.substr(start, m_pos - start));
  }

  bool subscript(unsigned& index) {
    size_t digits = ++m_pos;
    while (m_pos < m_line.size() && m_line[m_pos] >= '0' && m_line[m_pos] <= '9') {
      ++m_pos;
    }
    std::string_view number = m_line.substr(digits, m_pos - digits);
    // Decimal only: a leading 0 would be octal in bash's arithmetic.
    if (number.empty() || number.size() > 6 || (number.size() > 1 && number[0] == '0') ||
        !at(']')) {
      return false;
    }
    std::from_chars(number.data(), number.data() + number.size(), index);
    ++m_pos;
    return true;
  }

  // What $NAME gives in the subshell that sources the file: the chain's
  // own assignments so far, else dkms's variables, else the environment,
  // else nothing. nullopt for names whose value only bash knows (its own
  // variables, ours) and for values the later passes would not copy as
  // they are (anything the echo splits on but blanks, globs with, or the
  // second, double-quoted pass expands).
  std::optional<std::string> variable(std::string_view n) const {
    if (n.starts_with('_') || bash_sets_itself(n)) {
      return std::nullopt;
    }
    std::optional<std::string> value;
    if (m_names.count(n) != 0) {
      auto v = m_values.find(std::string(n));
      value = v != m_values.end() && v->second.count(0) != 0 ? v->second.at(0) : "";
    } else {
      for (const auto& [name, v] : m_chain.variables) {
        if (name == n) {
          value = v; // a later definition replaces an earlier one
        }
      }
      if (!value) {
        value = env_lookup(m_env, n).value_or("");
      }
    }
    if (!std::all_of(value->begin(), value->end(), [](char c) {
          return c == '\n' || is_quoted_literal_char(c, '"');
        })) {
      return std::nullopt;
    }
    return value;
  }

  // At '$': $NAME or ${NAME}, nothing else.
  bool expansion(std::string& out) {
    ++m_pos;
    const bool braced = at('{');
    if (braced) {
      ++m_pos;
    }
    std::string n = name();
    if (n.empty() || (braced && !at('}'))) {
      return false;
    }
    if (braced) {
      ++m_pos;
    }
    auto value = variable(n);
    if (!value) {
      return false;
    }
    out += *value;
    return true;
  }

  bool double_quoted(std::string& out) {
    ++m_pos;
    while (m_pos < m_line.size() && m_line[m_pos] != '"') {
      if (m_line[m_pos] == '$') {
        if (!expansion(out)) {
          return false;
        }
      } else if (is_quoted_literal_char(m_line[m_pos], '"')) {
        out += m_line[m_pos++];
      } else {
        return false;
      }
    }
    if (!at('"')) {
      return false; // continues on the next line
    }
    ++m_pos;
    return true;
  }

  // Literal text only: the second pass would expand a $ here.
  bool single_quoted(std::string& out) {
    ++m_pos;
    size_t close = m_line.find('\'', m_pos);
    if (close == std::string_view::npos) {
      return false;
    }
    std::string_view text = m_line.substr(m_pos, close - m_pos);
    if (!std::all_of(text.begin(), text.end(),
                     [](char c) { return is_quoted_literal_char(c, '\''); })) {
      return false;
    }
    out = std::string(text);
    m_pos = close + 1;
    return true;
  }

  // Neither split nor globbed in an assignment: only expanded.
  bool plain_word(std::string& out) {
    while (m_pos < m_line.size()) {
      if (m_line[m_pos] == '$') {
        if (!expansion(out)) {
          return false;
        }
      } else if (is_plain_word_char(m_line[m_pos])) {
        out += m_line[m_pos++];
      } else {
        break;
      }
    }
    return true;
  }

  const ShellChain& m_chain;
  const std::vector<std::string>& m_env;
  const std::set<std::string, std::less<>>& m_names;
  const ShellValues& m_values;
  std::string_view m_line;
  size_t m_pos = 0;
};

// What the unquoted echo of the first pass leaves of a value: every run of
// blanks and newlines (IFS) becomes one space.
std::string split_and_joined(const std::string& value) {
  std::string out;
  bool in_run = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!in_run) {
        out += ' ';
      }
      in_run = true;
    } else {
      out += c;
      in_run = false;
    }
  }
  return out;
}

} // namespace

std::string deprecation_warnings(const ShellValues& values, const std::string& file) {
  std::string warnings;
  auto line = [&](std::string_view name) {
    warnings += "Deprecated feature: ";
    warnings += name;
    warnings += " (" + file + ")\n";
  };
  for (std::string_view name : deprecated_conf_names()) {
    auto v = values.find(std::string(name));
    if (v == values.end() || v->second.empty()) {
      continue;
    }
    if (name == "CLEAN") {
      auto first = v->second.find(0);
      const std::string clean = first == v->second.end() ? "" : first->second;
      if (clean == "true" || clean == "/bin/true" || clean == "/usr/bin/true") {
        continue;
      }
    }
    line(name);
  }
  return warnings;
}

std::optional<LiteralAnswer>
literal_chain_values(const ShellChain& chain, const std::vector<std::string>& env,
                     const std::vector<std::string>& cwd_entries) {
  if (!chain.directives.empty() || chain.files.empty()) {
    return std::nullopt;
  }
  // BASH_ENV, exported functions (an echo of its own), SHELLOPTS, ...
  if (has_bash_special_name(env)) {
    return std::nullopt;
  }
  const std::set<std::string, std::less<>> names(chain.names.begin(), chain.names.end());
  if (!chain.unset_names_first) {
    // Values the names already have (environment, shell variables) would
    // take part; leave that to bash.
    for (const auto& e : env) {
      if (names.count(env_entry_name(e)) != 0) {
        return std::nullopt;
      }
    }
    for (const auto& [name, value] : chain.variables) {
      if (names.count(name) != 0) {
        return std::nullopt;
      }
    }
  }
  // The echo's words start NAME[i]=" and glob in bash's working directory:
  // a file named like that would be printed instead.
  for (const auto& entry : cwd_entries) {
    if (entry.find("=\"") != std::string::npos) {
      return std::nullopt;
    }
  }
  LiteralAnswer answer;
  ShellValues& values = answer.values;
  LineReader reader(chain, env, names, values);
  for (const auto& file : chain.files) {
    // Read once here and again by bash if need be: regular files only (a
    // pipe given with -c must reach bash whole).
    if (!util::is_regular(file)) {
      return std::nullopt;
    }
    auto text = util::read_file(file);
    if (!text || text->find('\0') != std::string::npos ||
        text->find('\r') != std::string::npos) {
      return std::nullopt;
    }
    std::string_view rest(*text);
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      auto parsed = reader.parse(line);
      if (!parsed) {
        return std::nullopt;
      }
      if (!*parsed) {
        continue;
      }
      Assignment& a = **parsed;
      if (names.count(a.name) == 0) {
        return std::nullopt;
      }
      values[a.name][a.index] = std::move(a.value);
    }
    // The echo and the second sourcing, after each file as upstream does.
    for (auto& [name, array] : values) {
      for (auto& [index, value] : array) {
        value = split_and_joined(value);
      }
    }
    if (chain.deprecation_warnings) {
      answer.warnings += deprecation_warnings(values, file);
    }
  }
  return answer;
}

} // namespace core
