#pragma once

#include <string>
#include <string_view>
#include <vector>

// Small string helpers that know nothing about DKMS.
namespace util {

std::vector<std::string> split(std::string_view text, char sep);
// Splits on runs of blanks (space, tab, newline), dropping empty words.
std::vector<std::string> split_words(std::string_view text);
// The lines of text that start with prefix, in order (views into text).
std::vector<std::string_view> lines_starting_with(std::string_view text,
                                                  std::string_view prefix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
// Quotes text for bash so that it is read back as the same single word.
std::string shell_quote(std::string_view text);
// fnmatch(3) glob match; a leading '.' is never matched by a wildcard.
bool glob_match(const std::string& pattern, const std::string& text);
// POSIX extended regex search (unanchored), as bash's [[ =~ ]] does.
bool ere_search(const std::string& regex, const std::string& text);
// Bash's variable names: a letter or '_', then letters, digits and '_'
// (ASCII only, whatever the locale).
bool is_shell_name_start(char c);
bool is_shell_name_char(char c);
// Text up to (not including) the first newline.
std::string first_line(std::string_view text);

} // namespace util
