#pragma once

#include "core/dkms_conf_shell.hpp"

#include <optional>
#include <string>
#include <vector>

// dkms.conf files that only assign text, answered without bash.
//
// Most dkms.conf files are a handful of NAME="text" lines, the text at
// most naming variables ($kernelver, ${PACKAGE_NAME}). For those, what
// upstream's two-pass evaluation (source in a subshell, echo every element
// unquoted, source the echoed text again) yields is known exactly: the
// assigned text, variables replaced by their values, with each run of
// blanks and newlines turned into one space. A file is answered here only
// when every line is blank, a comment, or one assignment to an imported
// name of a quoted or plain word with no character either pass would
// expand, split on differently, or glob with, other than $NAME and ${NAME}
// of variables whose values are known here and hold no such character.
// Deprecated names are answered too, with the "Deprecated feature" lines
// the evaluator prints for them. Anything else (and any doubt: other names,
// bash's own variables, directives, values already in the environment,
// unreadable files) returns nullopt and bash evaluates the chain as before.
namespace core {

struct LiteralAnswer {
  ShellValues values;
  std::string warnings; // what the evaluator would print on stderr
};

// env: the environment bash would be given ("NAME=value"); cwd_entries:
// the names in the directory bash would run in (its echo globs there).
std::optional<LiteralAnswer>
literal_chain_values(const ShellChain& chain, const std::vector<std::string>& env,
                     const std::vector<std::string>& cwd_entries);

// The evaluator's "Deprecated feature" lines after reading file, given the
// values then (CLEAN unless it only names true; the others when assigned).
std::string deprecation_warnings(const ShellValues& values, const std::string& file);

} // namespace core
