#pragma once

#include "core/dkms_conf.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// The bash side of conf evaluation (SPEC §3.2): one bash process sources a
// chain of files the way upstream's safe_source() does and hands the
// imported variables back, NUL-separated, on a dedicated pipe.
namespace core {

struct ShellChain {
  // Shell variables defined (not exported) before anything is sourced.
  std::vector<std::pair<std::string, std::string>> variables;
  // Names imported from each file; all of them are read back at the end.
  std::vector<std::string> names;
  // Unset the names before the first file (dkms.conf, not framework.conf).
  bool unset_names_first = false;
  // The single positional parameter a sourced file sees ($1).
  std::string positional;
  std::vector<std::string> files;
  // Print upstream's "Deprecated feature:" lines after each file.
  bool deprecation_warnings = false;
  // --directive NAME/VALUE pairs, exported after the chain.
  std::vector<std::pair<std::string, std::string>> directives;
};

// Runs the chain in one bash child whose stdout/stderr are ours (or go
// through ctx.out in capture mode), in our cwd, with CC, CXX, CFLAGS,
// CXXFLAGS and LDFLAGS removed from its environment; or, for files that
// only assign literal text, gives bash's answer without it
// (core/dkms_conf_literal.hpp); or, for a chain of one file, sources it
// without the subshell's fork (evaluate_chain_in_one_shell).
ShellValues evaluate_chain(const Context& ctx, const ShellChain& chain);
// Always with bash as upstream does it (the oracle of the tests).
ShellValues evaluate_chain_in_bash(const Context& ctx, const ShellChain& chain);
// The one-file shortcut evaluate_chain takes after the literal answer: the
// file sourced in bash's main shell instead of a subshell, phase B done
// here; nullopt (having printed nothing) where bash must do it all, and in
// an environment that changes how bash runs (SHELLOPTS, BASH_ENV, ...).
std::optional<ShellValues> evaluate_chain_in_one_shell(const Context& ctx,
                                                       const ShellChain& chain);

} // namespace core
