#include "../test_support.hpp"
#include "core/make_probe.hpp"
#include "core/subprocess.hpp"
#include "util/strings.hpp"

#include <climits>
#include <glob.h>
#include <gtest/gtest.h>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

// Every expected value comes from running GNU make on the same makefile, the
// way `dkms build` does; the probe must agree or say it cannot tell.
namespace {

using test_support::TempDir;
using Env = std::vector<std::string>;

const Env k_base_env = {"PATH=/usr/bin:/bin"};

Env with(Env env, std::initializer_list<std::string> extra) {
  env.insert(env.end(), extra);
  return env;
}

bool have_make() {
  return !core::find_in_path("make").empty();
}

// What `make -f - show-NAME` prints (stdout and stderr) and its status, with
// the included file holding `text`, run under exactly `env`.
core::ProcessResult run_make(const std::string& text, const std::string& name,
                             const Env& env, const std::string& cwd = {}) {
  TempDir dir;
  std::string file = dir / "kernelvariables";
  test_support::write_text(file, text);
  core::ProcessSpec spec;
  spec.argv = {"env", "-i"};
  spec.argv.insert(spec.argv.end(), env.begin(), env.end());
  spec.argv.insert(spec.argv.end(), {"make", "-f", "-", "show-" + name});
  spec.cwd = cwd.empty() ? dir.path() : cwd;
  spec.stdin_data = "show-%:\n\t@echo $($*)\ninclude " + file + "\n";
  spec.out = core::Sink::capture;
  spec.merge_stderr = true;
  return core::run_process(spec);
}

// The probe's answer must be make's one line of output.
void expect_same_as_make(const std::string& text, const std::string& name,
                         const Env& env = k_base_env) {
  SCOPED_TRACE("makefile:\n" + text + "variable: " + name);
  auto made = run_make(text, name, env);
  ASSERT_EQ(made.status, 0) << made.output;
  ASSERT_TRUE(util::ends_with(made.output, "\n")) << made.output;
  std::string line = made.output.substr(0, made.output.size() - 1);
  ASSERT_EQ(line.find('\n'), std::string::npos) << made.output;
  auto ours = core::probe_make_variable(text, name, env);
  ASSERT_TRUE(ours.has_value()) << "make printed: " << line;
  EXPECT_EQ(*ours, line);
}

void expect_unsupported(const std::string& text, const std::string& name = "X",
                        const Env& env = k_base_env) {
  EXPECT_EQ(core::probe_make_variable(text, name, env), std::nullopt) << "makefile:\n"
                                                                      << text;
}

class MakeProbe : public ::testing::Test {
protected:
  void SetUp() override {
    if (!have_make()) {
      GTEST_SKIP() << "make is not installed";
    }
  }
};

std::vector<std::string> kernelvariables_files() {
  std::vector<std::string> files;
  glob_t g{};
  if (glob("/usr/src/linux-headers-*/.kernelvariables", 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      files.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  return files;
}

TEST_F(MakeProbe, DebianKernelVariablesFiles) {
  auto files = kernelvariables_files();
  if (files.empty()) {
    GTEST_SKIP() << "no /usr/src/linux-headers-*/.kernelvariables";
  }
  const Env envs[] = {
      k_base_env,
      with(k_base_env, {"DEBIAN_KERNEL_USE_CCACHE=1"}),
      with(k_base_env, {"CROSS_COMPILE=arm-"}), // the file's override wins
      with(k_base_env, {"CC=clang"}),           // the file's plain CC wins
      with(k_base_env, {"CCACHE=sccache", "DEBIAN_KERNEL_USE_CCACHE=y"}),
      with(k_base_env, {"DEB_BUILD_ARCH=arm64", "SHELL=/bin/false"}),
  };
  int evaluated = 0;
  for (const auto& file : files) {
    auto text = util::read_file(file);
    ASSERT_TRUE(text.has_value()) << file;
    // Older files pick CROSS_COMPILE inside ifneq, which we leave to make.
    bool conditional = text->find("ifneq") != std::string::npos;
    for (const auto& env : envs) {
      SCOPED_TRACE(file);
      if (conditional) {
        EXPECT_EQ(core::probe_make_variable(*text, "CC", env), std::nullopt);
      } else {
        expect_same_as_make(*text, "CC", env);
        expect_same_as_make(*text, "KERNELRELEASE", env);
        ++evaluated;
      }
    }
  }
  if (evaluated == 0) {
    GTEST_SKIP() << "only files with conditionals installed";
  }
}

TEST_F(MakeProbe, CcacheExampleFromDebian12) {
  // The 6.12 file's CC line, independent of the installed headers.
  const std::string text = "override ARCH = x86\n"
                           "CCACHE = ccache\n"
                           "CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) "
                           "$(CROSS_COMPILE)gcc-12\n"
                           "DEB_BUILD_ARCH ?= $(shell dpkg --print-architecture)\n"
                           "override CROSS_COMPILE = x86_64-linux-gnu-\n";
  expect_same_as_make(text, "CC");
  expect_same_as_make(text, "CC", with(k_base_env, {"DEBIAN_KERNEL_USE_CCACHE=1"}));
  expect_same_as_make(text, "CC", with(k_base_env, {"DEBIAN_KERNEL_USE_CCACHE="}));
  expect_same_as_make(text, "CC", with(k_base_env, {"CROSS_COMPILE=arm-"}));
  expect_same_as_make(text, "ARCH", with(k_base_env, {"ARCH=arm"}));
}

TEST_F(MakeProbe, ConditionalAssignmentAndEnvironment) {
  const std::string text =
      "A ?= file\nB = file\nC ?= first\nC ?= second\nD =\nD ?= set\n";
  for (const char* name : {"A", "B", "C", "D"}) {
    expect_same_as_make(text, name);
    expect_same_as_make(text, name,
                        with(k_base_env, {"A=env", "B=env", "C=env", "D=env"}));
  }
  // An environment variable that the file does not mention.
  expect_same_as_make("X = [$(FROM_ENV)]\n", "FROM_ENV",
                      with(k_base_env, {"FROM_ENV=e v"}));
  expect_same_as_make("X = a$(FROM_ENV)b\n", "X", with(k_base_env, {"FROM_ENV=e v"}));
  // Environment values are recursive: their references expand.
  expect_same_as_make("Z = zz\nX = $(Y)\n", "X", with(k_base_env, {"Y=a$(Z)b"}));
  expect_same_as_make("Z = zz\nX = $(Y)\n", "X", with(k_base_env, {"Y=$(Z)-$(Z)"}));
}

TEST_F(MakeProbe, SimpleVersusRecursiveOrdering) {
  const std::string text = "A = 1\nB := $(A)\nC = $(A)\nD ::= $(A) $(C)\nA = 2\n"
                           "E := $(E) e\nE := $(E) f\n";
  for (const char* name : {"A", "B", "C", "D", "E"}) {
    expect_same_as_make(text, name);
  }
  expect_same_as_make("X = $(Y)\nY = $(Z)\nZ = end\n", "X");
  expect_same_as_make("X := [$(Y)]\nY = late\n", "Y");
  expect_same_as_make("X := a$(Y)b\nY = late\n", "X");
}

TEST_F(MakeProbe, ReferenceForms) {
  expect_same_as_make("A = 1\nB = 2\nX = ${A}$A $(B)\n", "X");
  expect_same_as_make("N = CC\nCC = gcc\nX = $($(N)) ${$(N)} $(${N})\n", "X");
  expect_same_as_make("N = C\nCC = gcc\nX = $($(N)C)\n", "X");
  // $$ is a literal dollar; it can only be seen through $(if ...) here
  // because the echo stage refuses a `$`.
  expect_same_as_make("X = $(if $$,dollar,none)\n", "X");
  expect_same_as_make("D := $$\nX = $(if $(D),dollar,none)\n", "X");
  expect_same_as_make("X = a $(UNDEFINED_ANYWHERE) b $(if $(UNDEF2),t,f)\n", "X");
  expect_same_as_make("X =\n", "X");
  expect_same_as_make("X = a$(EMPTY)\n", "NOT_IN_FILE");
  expect_same_as_make("   X   =   spaced   value   \n", "X");
  expect_same_as_make("X=a=b c:d e,f g@h i%j k+l ./m_n 0-9\n", "X");
  expect_same_as_make("# comment\n  # indented comment\n\n   \nX = y\n", "X");
  expect_same_as_make("X = last line without newline", "X");
}

TEST_F(MakeProbe, IfFunction) {
  const std::string text = "E :=\nSP := $(E) $(E)\nT = yes\n"
                           "A = $(if $(T),then,else)\n"
                           "B = $(if $(E),then,else)\n"
                           "C = $(if $(E),then)\n"
                           "D = $(if $(SP),blank-is-true,false)\n"
                           "F = $(if   $(T)  ,  spaced  ,  no  )\n"
                           "G = $(if $(if $(E),,x),nested,other)\n"
                           "H = $(if $(E),a,b,c)\n"
                           "I = $(if x,${T},$(E))\n"
                           "J = ${if $(T),brace,no}\n"
                           "K = $(if $(T),(paren,no)\n"
                           "L = $(if ,a,)\n"
                           "M = $(if ${E},x,y)\n"
                           "N = $(if $(T),$(if $(E),p,q),r)\n"
                           "TS = $(E) \n"
                           "O = $(if $(TS),trailing-blank-kept,dropped)\n";
  for (const char* name :
       {"A", "B", "C", "D", "F", "G", "H", "I", "J", "L", "M", "N", "O"}) {
    expect_same_as_make(text, name);
  }
  // "(paren" leaves the call unbalanced: make stops with an error.
  EXPECT_EQ(core::probe_make_variable(text, "K", k_base_env), std::nullopt);
}

TEST_F(MakeProbe, Append) {
  const std::string text = "A = x\nA += $(B)\nB = y\n"
                           "C := x\nC += $(B)\n"
                           "D =\nD += z\n"
                           "U += fresh $(B)\n"
                           "override O = 1\nO += 2\nO = 3\n"
                           "override P = 1\noverride P += 2\n"
                           "Q := 1\noverride Q += $(B)\n";
  for (const char* name : {"A", "C", "D", "U", "O", "P", "Q"}) {
    expect_same_as_make(text, name);
  }
  expect_same_as_make("E += f $(G)\nG = g\n", "E", with(k_base_env, {"E=e"}));
  // No blank is added to an empty value; echo hides blanks, $(if ...) does not.
  expect_same_as_make("D =\nD += $(E)\nX = $(if $(D),blank,empty)\n", "X");
  expect_same_as_make("D :=\nD += $(D)\nX = $(if $(D),blank,empty)\n", "X");
  expect_same_as_make("D = $(E)\nD += $(E)\nX = $(if $(D),blank,empty)\n", "X");
}

TEST_F(MakeProbe, OverridePrecedence) {
  const std::string text = "override A = o\nA = plain\nA := simple\nA ?= cond\n"
                           "B = plain\noverride B = o2\n"
                           "override C ?= oc\n";
  for (const char* name : {"A", "B", "C"}) {
    expect_same_as_make(text, name);
    expect_same_as_make(text, name, with(k_base_env, {"A=env", "B=env", "C=env"}));
  }
}

// Each construct below is outside the subset (make would read or print it
// differently, run a program, or stop with an error).
TEST(MakeProbeUnsupported, Directives) {
  expect_unsupported("include other.mk\nX = a\n");
  expect_unsupported("export X = a\n");
  expect_unsupported("define X\na\nendef\n");
  expect_unsupported("ifeq (a,a)\nX = a\nendif\n");
  expect_unsupported("ifdef Y\nX = a\nendif\n");
  expect_unsupported("undefine X\nX = a\n");
  expect_unsupported("vpath % /tmp\nX = a\n");
  expect_unsupported("X = a\nunexport X\n");
  expect_unsupported("private X = a\n");
}

TEST(MakeProbeUnsupported, LineSyntax) {
  expect_unsupported("target: prereq\nX = a\n");    // a rule
  expect_unsupported("show-X: Y = 1\nX = a\n");     // target-specific variable
  expect_unsupported("X = a # trailing comment\n"); // make strips it
  expect_unsupported("X = a \\\n b\n");             // continuation
  expect_unsupported("# comment \\\nX = a\n");      // the comment continues
  expect_unsupported("\tX = a\n");                  // recipe line
  expect_unsupported("X\t= a\n");                   // tabs anywhere
  expect_unsupported("X = a\r\n");                  // CR kept in the value
  expect_unsupported("X != echo a\n");              // shell assignment
  expect_unsupported("X :::= a\n");                 // not in make 4.3
  expect_unsupported("X.Y = a\nX = $(X.Y)\n");      // name outside [A-Za-z0-9_]
  expect_unsupported("X\n");                        // missing separator
  expect_unsupported(std::string("X = a\0b\n", 8)); // NUL
}

TEST(MakeProbeUnsupported, ExpandedFunctionsOnly) {
  expect_unsupported("X = $(shell echo a)\n");
  expect_unsupported("X = $(wildcard *)\n");
  expect_unsupported("X = $(subst a,b,a)\n");
  expect_unsupported("X = $(origin X)\n");
  expect_unsupported("X = $(eval Y = 1)\n");
  expect_unsupported("X = $(info hi)a\n");
  expect_unsupported("Y := $(info parse-time)\nX = a\n"); // := expands at once
  expect_unsupported("X = $(if $(shell true),a,b)\n");
  expect_unsupported("X = $(if a)\n");         // make: too few arguments
  expect_unsupported("X = $(if a,b\n");        // unterminated call
  expect_unsupported("X = $(Y\n");             // unterminated reference
  expect_unsupported("Y = a\nX = $(Y:a=b)\n"); // substitution reference
  expect_unsupported("X = $@ $* $<\n");        // automatic variables
  expect_unsupported("X = a$\n");
  expect_unsupported("X = $(X)\n"); // recursion: make stops
  expect_unsupported("X = $(Y)\nY = $(X)\n");
  expect_unsupported("X =\nX += $(X)\n");
  // Not expanded for X, so harmless:
  EXPECT_EQ(core::probe_make_variable("Y = $(shell false)\nZ ?= $(wildcard *)\nX = ok\n",
                                      "X", k_base_env),
            std::optional<std::string>("ok"));
  // Only the chosen branch of $(if ...) is expanded.
  EXPECT_EQ(core::probe_make_variable("X = $(if ,$(shell no),yes)\n", "X", k_base_env),
            std::optional<std::string>("yes"));
}

TEST(MakeProbeUnsupported, MakeOwnVariables) {
  expect_unsupported("X = $(MAKE)\n");
  expect_unsupported("X = $(CURDIR)\n");
  expect_unsupported("X = $(SHELL)\n");
  expect_unsupported("X = $(CC)\n");
  expect_unsupported("X = $(CC)\n", "X", with(k_base_env, {"CC=clang"}));
  expect_unsupported("CC ?= gcc\n", "CC"); // CC is already defined by make
  expect_unsupported("CC += -m64\n", "CC");
  expect_unsupported("SHELL = /bin/bash\nX = a\n");
  expect_unsupported("MAKEFLAGS += -e\nX = a\n");
  expect_unsupported("VPATH = /tmp\nX = a\n");
  expect_unsupported("PATH = /opt\nX = a\n");  // changes which echo runs
  expect_unsupported("", "CC");                // make's default "cc"
  expect_unsupported("override = 1\nX = a\n"); // reads like the directive
}

TEST(MakeProbeUnsupported, EnvironmentThatChangesMake) {
  for (const char* var :
       {"MAKEFLAGS=-e", "GNUMAKEFLAGS=-e", "MAKEFILES=/dev/null", "MAKELEVEL=1",
        "MFLAGS=-e", "VPATH=/tmp", "MAKE_RESTARTS=1", ".RECIPEPREFIX=>", ".SHELLFLAGS=-x",
        "=novalue", "POSIXLY_CORRECT=1", "NOEQUALS"}) {
    expect_unsupported("X = a\n", "X", with(k_base_env, {var}));
  }
  expect_unsupported("X = a\n", "X", {});                               // no PATH
  expect_unsupported("X = a\n", "X", {"PATH=bin:/usr/bin"});            // relative
  expect_unsupported("X = a\n", "X", {"PATH=/nonexistent"});            // no echo
  expect_unsupported("X = a\n", "X", with(k_base_env, {"X=1", "X=2"})); // duplicate
  expect_unsupported("X = a\n", "X", with(k_base_env, {"TMPDIR=/nonexistent"}));
}

TEST_F(MakeProbe, EnvironmentEffectsOnRealMake) {
  // Why the environment checks exist: make itself behaves differently.
  auto level = run_make("X = a\n", "X", with(k_base_env, {"MAKELEVEL=1"}));
  EXPECT_NE(level.output.find("Entering directory"), std::string::npos) << level.output;
  auto tmp = run_make("X = a\n", "X", with(k_base_env, {"TMPDIR=/nonexistent"}));
  EXPECT_NE(tmp.status, 0) << tmp.output;
  auto no_echo = run_make("X = a\n", "X", {"PATH=/nonexistent"});
  EXPECT_NE(no_echo.status, 0) << no_echo.output;
  auto e_flag = run_make("X = a\n", "X", with(k_base_env, {"MAKEFLAGS=-e", "X=env"}));
  EXPECT_EQ(e_flag.output, "env\n");
  // SHELL from the environment is ignored by make, so it is accepted here.
  expect_same_as_make("X = a\n", "X", with(k_base_env, {"SHELL=/bin/false"}));
  // Exported bash functions are imported under names no reference can spell.
  expect_same_as_make("X = a\n", "X",
                      with(k_base_env, {"BASH_FUNC_f%%=() {  echo b\n}"}));
}

TEST_F(MakeProbe, EchoStage) {
  // `echo -n a` prints no newline; echo options are left to make.
  auto made = run_make("X = -n a\n", "X", k_base_env);
  EXPECT_EQ(made.output, "a");
  expect_unsupported("X = -n a\n");
  expect_unsupported("X = 'quoted'\n");
  expect_unsupported("X = a;b\n");
  expect_unsupported("X = *\n");
  expect_unsupported("X = ~\n");
  expect_unsupported("D := $$\nX = $(D)HOME\n");
  expect_same_as_make("X = a -n\n", "X");
}

// The probe's target must be built by the pattern rule: an existing file
// named show-<name> in the current directory is "up to date" for make.
TEST_F(MakeProbe, ExistingTargetFileInCurrentDirectory) {
  TempDir dir;
  test_support::write_text(dir / "show-X", "");
  auto made = run_make("X = a\n", "X", k_base_env, dir.path());
  EXPECT_NE(made.output.find("up to date"), std::string::npos) << made.output;
  char old[PATH_MAX];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  auto ours = core::probe_make_variable("X = a\n", "X", k_base_env);
  auto other = core::probe_make_variable("Y = b\n", "Y", k_base_env);
  ASSERT_EQ(chdir(old), 0);
  EXPECT_EQ(ours, std::nullopt);
  EXPECT_EQ(other, std::optional<std::string>("b"));
}

// Names of all variables `make -p` prints (its built-ins, automatic and
// special variables), run the way the probe's make runs.
std::set<std::string> make_database_variables(const Env& env) {
  TempDir dir;
  core::ProcessSpec spec;
  spec.argv = {"env", "-i"};
  spec.argv.insert(spec.argv.end(), env.begin(), env.end());
  spec.argv.insert(spec.argv.end(), {"make", "-p", "-f", "-", "show-X"});
  spec.cwd = dir.path();
  spec.stdin_data = "show-%:\n\t@:\n";
  spec.out = core::Sink::capture;
  auto r = core::run_process(spec);
  std::set<std::string> names;
  bool in_variables = false;
  std::string origin;
  for (const auto& line : util::split(r.output, '\n')) {
    if (line == "# Variables") {
      in_variables = true;
    } else if (util::starts_with(line, "# variable set hash-table stats")) {
      in_variables = false;
    } else if (in_variables && util::starts_with(line, "# ")) {
      origin = line;
    } else if (in_variables && !line.empty() && line[0] != '#' &&
               origin != "# environment") {
      std::string def = util::starts_with(line, "define ") ? line.substr(7) : line;
      size_t end = def.find(" ");
      if (end != std::string::npos) {
        names.insert(def.substr(0, end));
      }
    }
  }
  return names;
}

TEST_F(MakeProbe, EveryMakeBuiltinVariableIsLeftToMake) {
  auto names = make_database_variables(k_base_env);
  // Guards the parsing above: make 4.3 prints well over 50.
  ASSERT_GT(names.size(), 50u);
  ASSERT_TRUE(names.count("CC") != 0 && names.count("MAKE") != 0);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    expect_unsupported("X = a$(" + name + ")\n");
    expect_unsupported("X = a${" + name + "}\n");
    if (name.size() == 1) {
      expect_unsupported("X = a$" + name + "\n");
    }
    // ?= keeps make's value, which the probe does not model.
    expect_unsupported("X = a\n" + name + " ?= b\n", name);
  }
}

} // namespace
