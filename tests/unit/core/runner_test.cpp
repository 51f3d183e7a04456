#include "../test_support.hpp"
#include "core/runner.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

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

TEST_F(RunnerTest, AProgramThatCannotBeExecutedGetsBashsExplanation) {
  // An ELF whose loader does not exist: run without bash it fails with no
  // word of why; upstream's eval prints bash's message into make.log.
  auto elf = util::read_file("/bin/true");
  ASSERT_TRUE(elf);
  const std::string loader = "/lib64/ld-linux-x86-64.so.2";
  size_t at = elf->find(loader);
  if (at == std::string::npos) {
    GTEST_SKIP() << "/bin/true names no x86-64 loader";
  }
  elf->replace(at, loader.size(), "/no/such/dir/ld-linux.so.2");
  std::string prog = t.root / "noloader";
  ASSERT_TRUE(util::write_file_atomic(prog, *elf, 0755));
  ASSERT_TRUE(core::direct_command(prog, {}, {"PATH=/usr/bin:/bin"}, t.root.path()));
  auto bash = core::run_capture({"bash", "-c", "eval \"$1\"", "dkms", prog});
  ASSERT_NE(bash.output, "");

  std::string log = t.root / "make.log";
  auto inv = make(prog, "Building module(s)");
  inv.log_file = log;
  inv.cwd = t.root.path(); // as for MAKE: without one, bash runs it anyway
  EXPECT_EQ(run(inv), bash.status);
  EXPECT_NE(test_support::read_text(log).find(
                "# command: " + prog + "\n" + bash.output +
                "\n# exit code: " + std::to_string(bash.status) + "\n"),
            std::string::npos)
      << test_support::read_text(log);
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

namespace {

// What a command prints when run from `env -i ENV...` in dir: through bash
// as the runner runs it, or as direct_command says bash would run it.
std::vector<std::string> sorted_lines(std::string text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string through_bash(const std::string& command, const std::vector<std::string>& env,
                         const std::string& dir) {
  core::ProcessSpec spec;
  spec.argv = {"env", "-i"};
  spec.argv.insert(spec.argv.end(), env.begin(), env.end());
  spec.argv.insert(spec.argv.end(),
                   {"/bin/bash", "-c",
                    core::shell_var_prefix({{"kernelver", "6.1"}}) + "eval \"$1\"",
                    "dkms", command});
  spec.cwd = dir;
  spec.out = core::Sink::capture;
  return core::run_process(spec).output;
}

std::optional<std::string> directly(const std::string& command,
                                    const std::vector<std::string>& env,
                                    const std::string& dir) {
  auto direct = core::direct_command(command, {{"kernelver", "6.1"}}, env, dir);
  if (!direct) {
    return std::nullopt;
  }
  core::ProcessSpec spec;
  spec.argv = {"env", "-i"};
  for (const auto& e : env) {
    std::string name = e.substr(0, e.find('='));
    bool replaced = std::find(direct->env_unset.begin(), direct->env_unset.end(), name) !=
                    direct->env_unset.end();
    for (const auto& kv : direct->env_set) {
      replaced = replaced || kv.first == name;
    }
    if (!replaced) {
      spec.argv.push_back(e);
    }
  }
  for (const auto& kv : direct->env_set) {
    spec.argv.push_back(kv.first + "=" + kv.second);
  }
  spec.argv.insert(spec.argv.end(), direct->argv.begin(), direct->argv.end());
  spec.cwd = dir;
  spec.out = core::Sink::capture;
  return core::run_process(spec).output;
}

} // namespace

TEST(DirectCommand, PlainWordsOnly) {
  const std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  auto make = core::direct_command("make -j2 KERNELRELEASE=6.1.0-1-amd64 M=/x,y@z%", {},
                                   env, "/tmp");
  ASSERT_TRUE(make);
  EXPECT_EQ(make->argv,
            (std::vector<std::string>{core::find_in_path("make"), "-j2",
                                      "KERNELRELEASE=6.1.0-1-amd64", "M=/x,y@z%"}));
  for (const char* not_plain : {"make 'x'",
                                "make \"x\"",
                                "make $X",
                                "make ${X}",
                                "make; true",
                                "make | tee",
                                "make > log",
                                "make *.c",
                                "make ~/x",
                                "make `x`",
                                "make \\x",
                                "make\nmake",
                                "make # note",
                                "make {a,b}",
                                "FOO=1 make",
                                "cd /tmp",
                                "true",
                                "test -d x",
                                "[ x ]",
                                "if",
                                "exec make",
                                "command make",
                                "no-such-program-anywhere",
                                "",
                                "./relative/make"}) {
    EXPECT_FALSE(core::direct_command(not_plain, {}, env, "/tmp")) << not_plain;
  }
  // A dkms variable the environment also exports: bash would export its value.
  EXPECT_FALSE(core::direct_command("make", {{"arch", "x86_64"}},
                                    {"PATH=/usr/bin:/bin", "arch=arm"}, "/tmp"));
  EXPECT_FALSE(core::direct_command("make", {}, {"PATH="}, "/tmp"));
  EXPECT_FALSE(core::direct_command("make", {}, {"PATH=bin:/usr/bin"}, "/tmp"));
  EXPECT_FALSE(core::direct_command("make", {}, {"PATH=/usr/bin", "SHLVL=999"}, "/tmp"));
  EXPECT_FALSE(core::direct_command("make", {}, {"PATH=/usr/bin", "SHLVL=x"}, "/tmp"));
}

// The environment the program sees is the one bash would give it.
TEST(DirectCommand, SameEnvironmentAsBash) {
  test_support::TempDir dir;
  const std::string path = "PATH=/usr/local/bin:/usr/bin:/bin";
  const std::vector<std::vector<std::string>> envs = {
      {path},
      {path, "HOME=/root", "LANG=C.UTF-8", "TERM=xterm", "USER=root", "a-b=odd"},
      {path, "PWD=/usr", "OLDPWD=/tmp", "SHLVL=5"},
      {path, "PWD=relative", "OLDPWD=/no/such/dir", "SHLVL="},
      {path, "SHLVL=998", "MAKEFLAGS=-j1", "CC=gcc"},
  };
  for (const auto& env : envs) {
    auto direct = directly("env", env, dir.path());
    ASSERT_TRUE(direct) << env.back();
    EXPECT_EQ(sorted_lines(*direct), sorted_lines(through_bash("env", env, dir.path())))
        << env.back();
  }
  // Names bash reads or rewrites: either bash runs, or the result is equal.
  for (const char* name : {"IFS",
                           "PS1",
                           "PS2",
                           "PS4",
                           "BASH",
                           "BASHPID",
                           "BASH_ENV",
                           "BASH_ARGV0",
                           "BASH_COMMAND",
                           "BASH_EXECUTION_STRING",
                           "BASH_SUBSHELL",
                           "BASH_VERSINFO",
                           "BASH_VERSION",
                           "BASH_XTRACEFD",
                           "BASH_COMPAT",
                           "BASHOPTS",
                           "SHELLOPTS",
                           "COMP_WORDBREAKS",
                           "EPOCHSECONDS",
                           "EPOCHREALTIME",
                           "HISTCMD",
                           "LINENO",
                           "OPTERR",
                           "OPTIND",
                           "PPID",
                           "RANDOM",
                           "SRANDOM",
                           "SECONDS",
                           "UID",
                           "EUID",
                           "GROUPS",
                           "HOSTNAME",
                           "HOSTTYPE",
                           "OSTYPE",
                           "MACHTYPE",
                           "COLUMNS",
                           "LINES",
                           "HISTFILE",
                           "MAIL",
                           "MAILCHECK",
                           "GLOBIGNORE",
                           "TIMEFORMAT",
                           "TMOUT",
                           "EXECIGNORE",
                           "CDPATH",
                           "FIGNORE",
                           "HOME",
                           "SHELL",
                           "POSIXLY_CORRECT",
                           "ENV",
                           "FUNCNAME",
                           "DIRSTACK",
                           "PIPESTATUS",
                           "BASH_FUNC_f%%",
                           "_",
                           "INPUTRC"}) {
    std::vector<std::string> env = {path, std::string(name) + "=v1"};
    auto direct = directly("env", env, dir.path());
    if (direct) {
      EXPECT_EQ(sorted_lines(*direct), sorted_lines(through_bash("env", env, dir.path())))
          << name;
    }
  }
}

// What execve cannot run as it is, bash runs or reports itself.
TEST(DirectCommand, OnlyWhatExecveRunsAsItIs) {
  test_support::TempDir dir;
  auto script = [&](const std::string& name, const std::string& text) {
    std::string path = dir / name;
    EXPECT_TRUE(util::write_file_atomic(path, text, 0755));
    return path;
  };
  const std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
  EXPECT_TRUE(core::direct_command(script("sh-script", "#!/bin/sh\necho hi\n"), {}, env,
                                   dir.path()));
  EXPECT_TRUE(core::direct_command(script("spaced", "#! /bin/sh -e\necho hi\n"), {}, env,
                                   dir.path()));
  EXPECT_FALSE(core::direct_command(script("no-interpreter", "#!/no/such/sh\necho\n"), {},
                                    env, dir.path()));
  EXPECT_FALSE(
      core::direct_command(script("relative", "#!sh\necho\n"), {}, env, dir.path()));
  EXPECT_FALSE(
      core::direct_command(script("plain-text", "echo hi\n"), {}, env, dir.path()));
  std::string not_executable = script("not-executable", "#!/bin/sh\n");
  chmod(not_executable.c_str(), 0644);
  EXPECT_FALSE(core::direct_command(not_executable, {}, env, dir.path()));
}
