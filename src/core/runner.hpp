#pragma once

#include "core/context.hpp"

#include <string>
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

} // namespace core
