#include "core/dkms_conf_literal.hpp"

#include "core/conf_cache.hpp"
#include "core/runner.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

namespace core {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
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
  return is_name_char(c) || k_punct.find(c) != std::string_view::npos;
}

// One line of a file: nothing (blank or comment), an assignment, or
// nullopt when it is not in the literal subset.
struct Assignment {
  std::string name;
  unsigned index = 0;
  std::string value;
};

std::optional<std::optional<Assignment>> parse_line(std::string_view line) {
  size_t p = 0;
  while (p < line.size() && is_blank(line[p])) {
    ++p;
  }
  if (p == line.size() || line[p] == '#') {
    return std::optional<Assignment>();
  }
  Assignment a;
  if (!is_name_start(line[p])) {
    return std::nullopt;
  }
  size_t start = p;
  while (p < line.size() && is_name_char(line[p])) {
    ++p;
  }
  a.name = std::string(line.substr(start, p - start));
  if (p < line.size() && line[p] == '[') {
    size_t digits = ++p;
    while (p < line.size() && line[p] >= '0' && line[p] <= '9') {
      ++p;
    }
    std::string_view number = line.substr(digits, p - digits);
    // Decimal only: a leading 0 would be octal in bash's arithmetic.
    if (number.empty() || number.size() > 6 || (number.size() > 1 && number[0] == '0') ||
        p == line.size() || line[p] != ']') {
      return std::nullopt;
    }
    std::from_chars(number.data(), number.data() + number.size(), a.index);
    ++p;
  }
  if (p == line.size() || line[p] != '=') {
    return std::nullopt;
  }
  ++p;
  if (p < line.size() && (line[p] == '"' || line[p] == '\'')) {
    const char quote = line[p++];
    size_t close = line.find(quote, p);
    if (close == std::string_view::npos) {
      return std::nullopt; // continues on the next line
    }
    std::string_view text = line.substr(p, close - p);
    if (!std::all_of(text.begin(), text.end(),
                     [quote](char c) { return is_quoted_literal_char(c, quote); })) {
      return std::nullopt;
    }
    a.value = std::string(text);
    p = close + 1;
  } else {
    start = p;
    while (p < line.size() && is_plain_word_char(line[p])) {
      ++p;
    }
    a.value = std::string(line.substr(start, p - start));
  }
  // Only blanks and a comment may follow (no second word, no operator).
  if (p < line.size() && !is_blank(line[p])) {
    return std::nullopt;
  }
  while (p < line.size() && is_blank(line[p])) {
    ++p;
  }
  if (p < line.size() && line[p] != '#') {
    return std::nullopt;
  }
  return std::optional<Assignment>(std::move(a));
}

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

std::string_view name_of(const std::string& entry) {
  return std::string_view(entry).substr(0, entry.find('='));
}

} // namespace

std::optional<ShellValues>
literal_chain_values(const ShellChain& chain, const std::vector<std::string>& env,
                     const std::vector<std::string>& cwd_entries) {
  if (!chain.directives.empty() || chain.files.empty()) {
    return std::nullopt;
  }
  // BASH_ENV, exported functions (an echo of its own), SHELLOPTS, ...
  for (const auto& e : env) {
    if (bash_special_name(name_of(e))) {
      return std::nullopt;
    }
  }
  const std::set<std::string, std::less<>> names(chain.names.begin(), chain.names.end());
  if (!chain.unset_names_first) {
    // Values the names already have (environment, shell variables) would
    // take part; leave that to bash.
    for (const auto& e : env) {
      if (names.count(name_of(e)) != 0) {
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
  ShellValues values;
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
      auto parsed = parse_line(line);
      if (!parsed) {
        return std::nullopt;
      }
      if (!*parsed) {
        continue;
      }
      Assignment& a = **parsed;
      if (names.count(a.name) == 0 || is_deprecated_conf_name(a.name)) {
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
  }
  return values;
}

} // namespace core
