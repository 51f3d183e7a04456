#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

// Child processes are started with posix_spawn and an argument vector; a
// shell is used only where the behaviour we match is a shell's, by passing
// {"bash", "-c", text} explicitly.
namespace core {

enum class Sink {
  inherit, // the caller's stdout/stderr (or the fds given below)
  capture, // collected into ProcessResult::output
  discard, // /dev/null
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::string cwd;                                          // empty: inherit
  std::vector<std::pair<std::string, std::string>> env_set; // added/overridden
  std::vector<std::string> env_unset;
  Sink out = Sink::inherit;
  bool merge_stderr = false; // stderr follows stdout's sink
  int out_fd = 1;            // with Sink::inherit
  int err_fd = 2;            // with Sink::inherit and !merge_stderr
  std::string stdin_data;    // fed through a pipe; empty: /dev/null
  // Called every tick_interval while the child runs (progress dots).
  std::function<void()> on_tick;
  // Called once, right after the child started: work of the caller's that
  // can overlap the child (it must not throw).
  std::function<void()> while_running;
  std::chrono::milliseconds tick_interval{3000};
};

struct ProcessResult {
  int status = 127;    // exit status, 128+signal, or 127 if it could not start
  int spawn_error = 0; // errno when it could not start
  std::string output;
};

ProcessResult run_process(const ProcessSpec& spec);
// The environment run_process gives the child ("NAME=value"): ours, less
// env_unset, with env_set applied.
std::vector<std::string> child_environment(const ProcessSpec& spec);

// Convenience: run argv, capture stdout+stderr.
ProcessResult run_capture(const std::vector<std::string>& argv,
                          const std::string& cwd = {});

// Looks a command up in PATH as bash's `command -v` would (absolute or
// relative names containing '/' are checked directly).
std::string find_in_path(const std::string& name);

// The pid of the child currently being waited for, or 0; used by signal
// handlers to stop make on Ctrl-C.
int current_child_pid();

} // namespace core
