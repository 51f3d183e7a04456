#pragma once

namespace cli {

// Parses the command line, runs the action and returns the exit status.
int run_main(int argc, char** argv);

} // namespace cli
