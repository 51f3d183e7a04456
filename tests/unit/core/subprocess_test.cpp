#include "../test_support.hpp"
#include "core/subprocess.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <utility>

namespace {

using core::ProcessSpec;
using core::Sink;
using test_support::TempDir;

ProcessSpec bash(const std::string& script, Sink sink = Sink::capture) {
  ProcessSpec spec;
  spec.argv = {"bash", "-c", script};
  spec.out = sink;
  return spec;
}

using test_support::ScopedEnv;

TEST(RunCapture, CollectsStdoutAndStderrInOrder) {
  auto r = core::run_capture({"bash", "-c", "echo a; echo b >&2; echo c"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "a\nb\nc\n");
}

TEST(RunCapture, CwdIsApplied) {
  TempDir d;
  auto r = core::run_capture({"pwd"}, d.path());
  EXPECT_EQ(r.output, d.path() + "\n");
}

TEST(RunProcess, ExitStatusSignalAndMissingProgram) {
  EXPECT_EQ(core::run_process(bash("exit 7")).status, 7);
  EXPECT_EQ(core::run_process(bash("exit 0")).status, 0);
  EXPECT_EQ(core::run_process(bash("kill -TERM $$")).status, 128 + 15);
  EXPECT_EQ(core::run_capture({"/nonexistent/program-xyz"}).status, 127);
  EXPECT_EQ(core::run_capture({"no-such-command-dkms-ut"}).status, 127);
  EXPECT_EQ(core::run_process(ProcessSpec{}).status, 127); // empty argv
}

// Runs spec with out_fd or err_fd pointing at a fresh file; returns the
// result and what the file received.
std::pair<core::ProcessResult, std::string> run_into_file(ProcessSpec spec,
                                                          int ProcessSpec::*fd_member) {
  TempDir d;
  std::string path = d / "sink.txt";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  EXPECT_GE(fd, 0);
  spec.*fd_member = fd;
  auto r = core::run_process(spec);
  close(fd);
  return {r, test_support::read_text(path)};
}

TEST(RunProcess, CaptureWithoutMergeSendsStderrToErrFd) {
  auto [r, file] = run_into_file(bash("echo out; echo err >&2"), &ProcessSpec::err_fd);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "out\n");
  EXPECT_EQ(file, "err\n");
}

TEST(RunProcess, InheritWritesToTheGivenFds) {
  auto spec = bash("echo one; echo two >&2", Sink::inherit);
  spec.merge_stderr = true;
  auto [r, file] = run_into_file(spec, &ProcessSpec::out_fd);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(file, "one\ntwo\n");
}

TEST(RunProcess, DiscardDropsOutput) {
  auto spec = bash("echo gone; echo gone2 >&2; exit 4", Sink::discard);
  spec.merge_stderr = true;
  auto r = core::run_process(spec);
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.output, "");
}

TEST(RunProcess, LargeOutputIsDrainedCompletely) {
  // More than a pipe buffer, so the child blocks unless we keep reading.
  auto r = core::run_process(bash("head -c 300000 /dev/zero | tr '\\0' x"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, std::string(300000, 'x'));
}

TEST(RunProcess, StdinDataOrDevNull) {
  auto spec = bash("cat; echo '|'");
  spec.stdin_data = "line 1\nline 2";
  EXPECT_EQ(core::run_process(spec).output, "line 1\nline 2|\n");
  // No data: stdin is /dev/null, so cat ends at once instead of waiting.
  EXPECT_EQ(core::run_process(bash("cat; echo end")).output, "end\n");
}

TEST(RunProcess, EnvironmentSetOverrideAndUnset) {
  ScopedEnv keep("DKMS_UT_KEEP", "kept");
  ScopedEnv over("DKMS_UT_OVER", "old");
  ScopedEnv drop("DKMS_UT_DROP", "present");
  auto spec =
      bash("echo \"$DKMS_UT_KEEP|$DKMS_UT_OVER|${DKMS_UT_DROP-unset}|$DKMS_UT_NEW\";"
           " env | grep -c '^DKMS_UT_OVER='");
  spec.env_set = {{"DKMS_UT_OVER", "new"}, {"DKMS_UT_NEW", "a b"}};
  spec.env_unset = {"DKMS_UT_DROP"};
  auto r = core::run_process(spec);
  EXPECT_EQ(r.output, "kept|new|unset|a b\n1\n");
}

TEST(RunProcess, TicksWhileTheChildRuns) {
  int ticks = 0;
  int pid_seen = 0;
  auto spec = bash("echo $$; sleep 0.55");
  spec.tick_interval = std::chrono::milliseconds(100);
  spec.on_tick = [&] {
    ++ticks;
    pid_seen = core::current_child_pid();
  };
  auto r = core::run_process(spec);
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(ticks, 3);
  EXPECT_LE(ticks, 6);
  // The pid being waited for is the child's, and it is cleared afterwards.
  EXPECT_EQ(std::to_string(pid_seen) + "\n", r.output);
  EXPECT_EQ(core::current_child_pid(), 0);
}

TEST(RunProcess, NoTickForAQuickChild) {
  int ticks = 0;
  auto spec = bash("true", Sink::discard);
  spec.tick_interval = std::chrono::milliseconds(2000);
  spec.on_tick = [&] { ++ticks; };
  EXPECT_EQ(core::run_process(spec).status, 0);
  EXPECT_EQ(ticks, 0);
}

double cpu_seconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(RunProcess, WaitsForOutputOfBackgroundedGrandchildWithoutSpinning) {
  // The child exits at once, but a grandchild keeps the pipe open for a
  // while; like $(...), the output is read to EOF. Waiting must not poll
  // in a busy loop meanwhile (an idle wait costs about 1 ms of CPU).
  double before = cpu_seconds();
  auto r = core::run_process(bash("(sleep 0.8; echo late) & echo early"));
  double used = cpu_seconds() - before;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "early\nlate\n");
  EXPECT_LT(used, 0.1) << "CPU seconds spent waiting";
}

TEST(FindInPath, SearchesPathForExecutableFiles) {
  TempDir d;
  test_support::write_text(d / "bin1/mytool", "#!/bin/sh\n", 0755);
  test_support::write_text(d / "bin1/plain", "data\n", 0644);
  test_support::write_text(d / "bin2/plain", "#!/bin/sh\n", 0755);
  test_support::make_dir(d / "bin2/adir");
  ScopedEnv path("PATH", (d / "bin1:" + d / "bin2").c_str());
  EXPECT_EQ(core::find_in_path("mytool"), d / "bin1/mytool");
  // A non-executable file earlier in PATH is passed over.
  EXPECT_EQ(core::find_in_path("plain"), d / "bin2/plain");
  EXPECT_EQ(core::find_in_path("adir"), "");
  EXPECT_EQ(core::find_in_path("missing"), "");
  EXPECT_EQ(core::find_in_path(""), "");
}

TEST(FindInPath, NamesWithSlashAreCheckedDirectly) {
  TempDir d;
  test_support::write_text(d / "x", "#!/bin/sh\n", 0755);
  test_support::write_text(d / "y", "", 0644);
  EXPECT_EQ(core::find_in_path(d / "x"), d / "x");
  EXPECT_EQ(core::find_in_path(d / "y"), "");
  EXPECT_EQ(core::find_in_path(d / "nope"), "");
}

} // namespace
