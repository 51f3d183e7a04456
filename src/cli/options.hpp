#pragma once

#include "core/context.hpp"

#include <string>
#include <vector>

namespace cli {

// What parsing decided beyond filling ctx.opts.
enum class ParseOutcome {
  run,      // go on with the action
  exit_now, // --version / --help / unknown option / two actions: stop with exit_code
};

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::run;
  int exit_code = 0;
};

// Parses argv[1..] as upstream 3.2.2 does (SPEC §1.1, §1.2): options and
// positionals interleaved, long options as prefix patterns, values keeping
// only their first line without surrounding blanks. Fills ctx.opts and the
// option-controlled settings; prints upstream's messages.
ParseResult parse_command_line(core::Context& ctx, const std::vector<std::string>& args);

// Splits "m/v" as upstream's parse_moduleversion: module before the first
// '/', version after it; without '/', only the module is set.
void parse_module_version(const std::string& text, core::Options& opts);

void print_usage(core::Context& ctx);

} // namespace cli
