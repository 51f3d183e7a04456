#pragma once

#include "core/context.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Upstream's invoke_command (SPEC §0.3): runs a shell command line with a
// description, optional log file and progress dots, and prints
// "<description>... done." or the failure form.
namespace core {

// Shell variables the command sees (upstream evals it inside dkms, where all
// of dkms's variables are visible): defined, not exported.
using ShellVars = std::vector<std::pair<std::string, std::string>>;

struct Invocation {
  std::string command;      // shell code, run by bash
  std::string description;  // "Building module(s)"
  std::string log_file;     // append to this file, or empty
  bool background = false;  // progress dots / output hidden without a log
  std::string package_name; // for the dkms*_test dots exception
  std::string cwd;          // empty: our cwd
  ShellVars vars;
  std::vector<std::pair<std::string, std::string>> env; // exported extras (CC, ...)
};

// Returns the command's exit status.
int invoke(Context& ctx, const Invocation& inv);

// Elapsed whole seconds as HH:MM:SS (upstream: date -u -d "0 N sec" +%T).
std::string format_elapsed(long seconds);

// Bash text defining vars (for prefixes of eval'd commands).
std::string shell_var_prefix(const ShellVars& vars);

// An environment variable bash reads at start-up or that changes how it
// runs what it is given (BASH_ENV, BASH_FUNC_*, SHELLOPTS, IFS, PS4, ...):
// with one present, only bash itself knows the outcome.
bool bash_special_name(std::string_view name);

// An environment holding such a name ("NAME=value" entries).
bool has_bash_special_name(const std::vector<std::string>& env);
// NAME of a "NAME=value" environment entry.
std::string_view env_entry_name(std::string_view entry);
// The value of name in an environment of "NAME=value" entries (the first).
std::optional<std::string> env_lookup(const std::vector<std::string>& env,
                                      std::string_view name);

// A command the runner may start without bash: what bash would execute for
// it, exactly. Only a line of plain words (letters, digits, _ . / + - = : ,
// @ %) whose first word names no builtin, keyword or exported function and
// is found on PATH as a binary or #! script, in an environment that cannot
// change how bash starts (BASH_ENV, SHELLOPTS, ...) and where none of vars
// is exported. env is what bash itself gets; the result's env_set adds what
// bash adds for its child: PWD (for cwd), SHLVL + 1 and _. nullopt: run bash.
struct DirectCommand {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env_set;
  std::vector<std::string> env_unset;
};
std::optional<DirectCommand> direct_command(const std::string& command,
                                            const ShellVars& vars,
                                            const std::vector<std::string>& env,
                                            const std::string& cwd);

} // namespace core
