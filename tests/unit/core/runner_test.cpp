#include "../test_support.hpp"
#include "core/runner.hpp"
#include "core/subprocess.hpp"

#include <gtest/gtest.h>
#include <regex>
#include <string>
#include <thread>

namespace {

using test_support::Captured;
using test_support::TestContext;

const std::string k_dashes(64, '-');

class RunnerTest : public ::testing::Test {
protected:
  int run(const core::Invocation& inv) {
    t.begin_capture();
    int status = core::invoke(t.ctx, inv);
    cap = t.end_capture();
    return status;
  }

  static core::Invocation make(const std::string& command,
                               const std::string& description = "Doing it") {
    core::Invocation inv;
    inv.command = command;
    inv.description = description;
    return inv;
  }

  TestContext t;
  Captured cap;
};

TEST_F(RunnerTest, SuccessPrintsDescriptionAndDone) {
  EXPECT_EQ(run(make("true", "Building module(s)")), 0);
  EXPECT_EQ(cap.out, "Building module(s)... done.\n");
  EXPECT_EQ(cap.err, "");
}

TEST_F(RunnerTest, FailurePrintsStatusAndFailedCommand) {
  EXPECT_EQ(run(make("exit 3", "Building module(s)")), 3);
  EXPECT_EQ(cap.out, "Building module(s)...(bad exit status: 3)\n"
                     "Failed command:\n"
                     "exit 3\n");
  EXPECT_EQ(cap.err, "");
}

TEST_F(RunnerTest, VerbosePrintsTheCommandInsteadOfTheDescription) {
  t.ctx.settings.verbose = "true";
  EXPECT_EQ(run(make("true", "Hidden")), 0);
  EXPECT_EQ(cap.out, "true\n done.\n");

  // Verbose failure: no newline and no "Failed command" block.
  EXPECT_EQ(run(make("exit 2", "Hidden")), 2);
  EXPECT_EQ(cap.out, "exit 2\n(bad exit status: 2)");
}

TEST_F(RunnerTest, ForegroundOutputIsShown) {
  EXPECT_EQ(run(make("echo hello")), 0);
  EXPECT_EQ(cap.merged, "Doing it...hello\n done.\n");
}

TEST_F(RunnerTest, BackgroundOutputIsDiscardedUnlessVerbose) {
  auto inv = make("echo hello; echo oops >&2");
  inv.background = true;
  inv.package_name = "dkms_test"; // no dots either way
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "Doing it... done.\n");

  t.ctx.settings.verbose = "true";
  inv.command = "echo hello";
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "echo hello\nhello\n done.\n");
}

TEST_F(RunnerTest, LogFileGetsTheBlockAndOutputStaysOffScreen) {
  std::string log = t.root / "make.log";
  test_support::write_text(log, "header\n");
  auto inv = make("echo out; echo err >&2", "Building module(s)");
  inv.log_file = log;
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "Building module(s)... done.\n");
  EXPECT_EQ(test_support::read_text(log), "header\n"
                                          "\n"
                                          "Building module(s)\n"
                                          "# command: echo out; echo err >&2\n"
                                          "out\n"
                                          "err\n"
                                          "\n"
                                          "# exit code: 0\n"
                                          "# elapsed time: 00:00:00\n" +
                                              k_dashes + "\n");
}

TEST_F(RunnerTest, LogFileRecordsFailureStatus) {
  std::string log = t.root / "sub/x.log";
  test_support::make_dir(t.root / "sub");
  auto inv = make("exit 5", "Running the pre_build script");
  inv.log_file = log;
  inv.background = true;
  inv.package_name = "dkms_test";
  EXPECT_EQ(run(inv), 5);
  EXPECT_EQ(cap.out, "Running the pre_build script...(bad exit status: 5)\n"
                     "Failed command:\n"
                     "exit 5\n");
  EXPECT_EQ(test_support::read_text(log), "\n"
                                          "Running the pre_build script\n"
                                          "# command: exit 5\n"
                                          "\n"
                                          "# exit code: 5\n"
                                          "# elapsed time: 00:00:00\n" +
                                              k_dashes + "\n");
}

TEST_F(RunnerTest, VerboseWithLogFileStillLogsTheOutput) {
  t.ctx.settings.verbose = "true";
  std::string log = t.root / "v.log";
  auto inv = make("echo inside", "Building module(s)");
  inv.log_file = log;
  inv.background = true;
  inv.package_name = "hello";
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "echo inside\n done.\n");
  EXPECT_EQ(test_support::read_text(log), "\nBuilding module(s)\n# command: echo inside\n"
                                          "inside\n\n# exit code: 0\n"
                                          "# elapsed time: 00:00:00\n" +
                                              k_dashes + "\n");
}

TEST_F(RunnerTest, QuietShowsNothingButReturnsTheStatus) {
  t.output.set_quiet();
  EXPECT_EQ(run(make("echo hi; exit 6")), 6);
  EXPECT_EQ(cap.merged, "");
}

TEST_F(RunnerTest, DescriptionAndCommandTextAreEchoEd) {
  // echo -e: the backslash sequences in the shown text are interpreted,
  // while the command itself runs as written.
  std::string log = t.root / "e.log";
  auto inv = make("printf 'a\\tb' >/dev/null; exit 1", "Step\\tone");
  inv.log_file = log;
  EXPECT_EQ(run(inv), 1);
  EXPECT_EQ(cap.out, "Step\tone...(bad exit status: 1)\n"
                     "Failed command:\n"
                     "printf 'a\tb' >/dev/null; exit 1\n");
  const std::string head = "\nStep\tone\n# command: printf 'a\tb' >/dev/null; exit 1\n";
  EXPECT_EQ(test_support::read_text(log).substr(0, head.size()), head);
}

TEST_F(RunnerTest, EchoEAlsoKnowsOctalAndHexEscapes) {
  // bash: echo -e 'A\x41\0102C' prints "AABC"; \u00e9 is UTF-8 e-acute.
  EXPECT_EQ(run(make("true", "A\\x41\\0102C \\u00e9")), 0);
  EXPECT_EQ(cap.out, "AABC \xc3\xa9... done.\n");
}

TEST_F(RunnerTest, CommandSeesShellVariablesButChildrenDoNot) {
  auto inv = make("echo \"[$module] [$(bash -c 'echo \"$module\"')] [$CC]\"");
  inv.vars = {{"module", "it's a $test"}};
  inv.env = {{"CC", "gcc-12"}};
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "Doing it...[it's a $test] [] [gcc-12]\n done.\n");
}

TEST_F(RunnerTest, RunsInTheGivenDirectory) {
  auto inv = make("pwd");
  inv.cwd = t.root.path();
  EXPECT_EQ(run(inv), 0);
  EXPECT_EQ(cap.merged, "Doing it..." + t.root.path() + "\n done.\n");
}

// One test that takes more than 3 s: the runner's dot interval is fixed.
// The variants run side by side so the wait is paid once.
TEST(RunnerDots, DotEveryThreeSecondsOnlyForBackgroundNonTestPackages) {
  struct Case {
    const char* package;
    bool background;
    bool verbose;
    TestContext t;
    Captured cap;
    int status = -1;
  };
  Case cases[4] = {{"hello", true, false, {}, {}},
                   {"dkms_test", true, false, {}, {}},
                   {"dkms-foo_test", true, false, {}, {}},
                   {"hello", false, false, {}, {}}};
  std::string log = cases[0].t.root / "make.log";
  std::vector<std::thread> threads;
  for (auto& c : cases) {
    threads.emplace_back([&c, &log, first = &c == &cases[0]] {
      core::Invocation inv;
      inv.command = "sleep 3.6";
      inv.description = "Building";
      inv.background = c.background;
      inv.package_name = c.package;
      if (first) {
        inv.log_file = log;
      }
      c.t.begin_capture();
      c.status = core::invoke(c.t.ctx, inv);
      c.cap = c.t.end_capture();
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(cases[0].status, 0);
  EXPECT_EQ(cases[0].cap.merged, "Building.... done.\n"); // one dot after 3 s
  EXPECT_EQ(cases[1].cap.merged, "Building... done.\n");
  EXPECT_EQ(cases[2].cap.merged, "Building... done.\n");
  EXPECT_EQ(cases[3].cap.merged, "Building... done.\n");
  // Whole seconds elapsed, formatted HH:MM:SS.
  EXPECT_TRUE(std::regex_search(test_support::read_text(log),
                                std::regex("\n# elapsed time: 00:00:0[34]\n")))
      << test_support::read_text(log);
}

TEST(FormatElapsed, LikeDateT) {
  // date -u -d "0 N sec" +%T
  EXPECT_EQ(core::format_elapsed(0), "00:00:00");
  EXPECT_EQ(core::format_elapsed(3), "00:00:03");
  EXPECT_EQ(core::format_elapsed(59), "00:00:59");
  EXPECT_EQ(core::format_elapsed(61), "00:01:01");
  EXPECT_EQ(core::format_elapsed(3661), "01:01:01");
  EXPECT_EQ(core::format_elapsed(86399), "23:59:59");
  EXPECT_EQ(core::format_elapsed(86400), "00:00:00");
  EXPECT_EQ(core::format_elapsed(100000), "03:46:40");
}

TEST(ShellVarPrefix, ReadsBackAsTheSameValues) {
  core::ShellVars vars = {{"a", "x y"},
                          {"b", "it's"},
                          {"c", "$HOME `id` \\ \"q\""},
                          {"d", ""},
                          {"e", "two\nlines"}};
  std::string script =
      core::shell_var_prefix(vars) + "printf '%s|' \"$a\" \"$b\" \"$c\" \"$d\" \"$e\"";
  auto r = core::run_capture({"bash", "-c", script});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "x y|it's|$HOME `id` \\ \"q\"||two\nlines|");
}

} // namespace
