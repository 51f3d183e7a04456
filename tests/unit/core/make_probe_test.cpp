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

// The paths matching a shell pattern, sorted (glob(3)).
std::vector<std::string> glob_paths(const std::string& pattern) {
  std::vector<std::string> paths;
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      paths.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  return paths;
}

// GNU make 4.3 leaves its copy of a stdin makefile (TMPDIR/GmXXXXXX) behind
// when it stops on an error. The copy names `included`, a path unique to the
// test, so exactly this run's copy is removed and nothing else.
void remove_makes_stdin_copy(const Env& env, const std::string& included) {
  std::string dir = "/tmp";
  for (const auto& e : env) {
    if (e.starts_with("TMPDIR=")) {
      dir = e.substr(7);
    }
  }
  for (const auto& copy : glob_paths(dir + "/Gm??????")) {
    if (test_support::read_text(copy).find("include " + included + "\n") !=
        std::string::npos) {
      unlink(copy.c_str());
    }
  }
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
  auto result = core::run_process(spec);
  if (result.status != 0) {
    remove_makes_stdin_copy(env, file);
  }
  return result;
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
  return glob_paths("/usr/src/linux-headers-*/.kernelvariables");
}

// Environments for Debian's files: the 6.1 file's ifneq is taken when the
// build and host architectures differ.
const std::vector<Env>& debian_envs() {
  static const std::vector<Env> envs = {
      k_base_env,
      with(k_base_env, {"DEBIAN_KERNEL_USE_CCACHE=1"}),
      with(k_base_env, {"CROSS_COMPILE=arm-"}), // the 6.12 file's override wins
      with(k_base_env, {"CC=clang"}),           // the file's plain CC wins
      with(k_base_env, {"CCACHE=sccache", "DEBIAN_KERNEL_USE_CCACHE=y"}),
      with(k_base_env, {"DEB_BUILD_ARCH=amd64", "DEB_HOST_ARCH=arm64",
                        "DEB_HOST_GNU_TYPE=aarch64-linux-gnu", "SHELL=/bin/false"}),
      with(k_base_env, {"DEB_BUILD_ARCH=amd64", "DEB_HOST_ARCH=amd64",
                        "DEB_HOST_GNU_TYPE=aarch64-linux-gnu", "CROSS_COMPILE=arm-"}),
      with(k_base_env, {"DEB_BUILD_ARCH=arm64", "DEB_HOST_GNU_TYPE=x86_64-linux-gnu",
                        "CROSS_COMPILE=arm-", "DEBIAN_KERNEL_USE_CCACHE=1"}),
  };
  return envs;
}

TEST_F(MakeProbe, DebianKernelVariablesFiles) {
  auto files = kernelvariables_files();
  if (files.empty()) {
    GTEST_SKIP() << "no /usr/src/linux-headers-*/.kernelvariables";
  }
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    auto text = util::read_file(file);
    ASSERT_TRUE(text.has_value()) << file;
    for (const auto& env : debian_envs()) {
      expect_same_as_make(*text, "CC", env);
      expect_same_as_make(*text, "KERNELRELEASE", env);
    }
  }
}

// The 6.1 file's text, independent of the installed headers.
const std::string k_debian_61 =
    "override ARCH = x86\n"
    "override KERNELRELEASE = 6.1.0-56-amd64\n"
    "CCACHE = ccache\n"
    "CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-12\n"
    "ifneq ($(DEB_BUILD_ARCH),$(DEB_HOST_ARCH))\n"
    "override CROSS_COMPILE = $(DEB_HOST_GNU_TYPE)-\n"
    "endif\n"
    "DEBIAN_KERNEL_NO_CC_VERSION_CHECK = y\n";

TEST_F(MakeProbe, Debian61Example) {
  for (const auto& env : debian_envs()) {
    expect_same_as_make(k_debian_61, "CC", env);
    expect_same_as_make(k_debian_61, "CROSS_COMPILE", env);
  }
  // The branch taken on purpose, and its answer spelled out.
  Env cross = with(k_base_env, {"DEB_BUILD_ARCH=amd64", "DEB_HOST_ARCH=arm64",
                                "DEB_HOST_GNU_TYPE=aarch64-linux-gnu"});
  expect_same_as_make(k_debian_61, "CC", cross);
  EXPECT_EQ(core::probe_make_variable(k_debian_61, "CC", cross),
            std::optional<std::string>("aarch64-linux-gnu-gcc-12"));
  // Taken without DEB_HOST_GNU_TYPE: CC is "-gcc-12", which make hands to
  // echo as a would-be option; the echo stage leaves that to make.
  Env half = with(k_base_env, {"DEB_BUILD_ARCH=arm64"});
  auto made = run_make(k_debian_61, "CC", half);
  EXPECT_EQ(made.output, "-gcc-12\n");
  expect_unsupported(k_debian_61, "CC", half);
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

// `X` is "yes" if the condition holds, "no" otherwise.
std::string branch(const std::string& condition, const std::string& defs = {}) {
  return defs + condition + "\nX = yes\nelse\nX = no\nendif\n";
}

TEST_F(MakeProbe, IfeqForms) {
  const std::string defs = "E :=\nSP := $(E) $(E)\nA = a\nAB = a b\n";
  for (const char* condition :
       {"ifeq (a,a)", "ifeq (a,b)", "ifneq (a,a)", "ifneq (a,b)", "ifeq ($(A),a)",
        "ifeq ($(UNDEF),)", "ifeq (,)", "ifeq ($(AB),a b)",
        // Paren form: blanks before and after the comma go, those just
        // inside the parentheses stay.
        "ifeq (a ,a)", "ifeq (a, a)", "ifeq (a  ,  a)", "ifeq ( a,a)", "ifeq (a,a )",
        "ifeq ( a, a )", "ifeq (a,a)   ", "   ifeq   (a,a)", "ifeq ($(SP),)",
        "ifeq ($(SP), )", "ifeq ($(E) ,$(E))",
        // Parentheses are counted, braces are not.
        "ifeq ($(if $(A),x,y),x)", "ifeq (a),b)", "ifeq ((a,b),(a,b))",
        // Quoted forms, either quote, with or without a blank between.
        "ifeq \"a\" \"a\"", "ifeq \"a\" \"b\"", "ifeq 'a' 'a'", "ifeq \"a\" 'a'",
        "ifeq 'a'\"a\"", "ifneq \" a\" \"a\"", "ifeq \"a,b\" 'a,b'", "ifeq '(' \"(\"",
        "ifeq \"$(AB)\"   \"a b\"  ", "ifeq \"a \" \"a\""}) {
    SCOPED_TRACE(condition);
    expect_same_as_make(branch(condition, defs), "X");
  }
}

TEST_F(MakeProbe, IfdefForms) {
  const std::string defs = "EMPTY =\nREF = $(EMPTY)\nS := $(EMPTY)\nSET = 1\n"
                           "N = SET\nC ?=\nAPP +=\noverride O = o\n";
  for (const char* condition :
       {"ifdef SET", "ifdef UNDEF", "ifdef EMPTY", "ifdef S", "ifdef C", "ifdef APP",
        // The unexpanded value counts: REF is defined though it expands empty.
        "ifdef REF", "ifndef REF", "ifndef SET", "ifndef UNDEF", "ifdef $(N)", "ifdef O",
        "ifdef PATH", "ifdef FROM_ENV", "ifdef EMPTY_ENV", "ifdef SET   "}) {
    SCOPED_TRACE(condition);
    Env env = with(k_base_env, {"FROM_ENV=x", "EMPTY_ENV="});
    expect_same_as_make(branch(condition, defs), "X", env);
  }
}

TEST_F(MakeProbe, NestingAndElseChains) {
  // A chain takes its first true branch only.
  const std::string chain = "ifeq ($(V),1)\nX = one\n"
                            "else ifeq ($(V),2)\nX = two\n"
                            "else ifdef W\nX = w\n"
                            "else ifneq ($(V),4)\nX = not-four\n"
                            "else\nX = four\n"
                            "endif\n";
  for (const char* v : {"V=1", "V=2", "V=3", "V=4"}) {
    expect_same_as_make(chain, "X", with(k_base_env, {v}));
    expect_same_as_make(chain, "X", with(k_base_env, {v, "W=1"}));
  }
  const std::string nested = "ifeq ($(A),1)\n"
                             "  ifeq ($(B),1)\n    X = 11\n  else\n    X = 1n\n  endif\n"
                             "  Y = a1\n"
                             "else\n"
                             "  ifdef B\n    X = nb\n  else ifeq ($(B),)\n    X = nn\n"
                             "  endif\n"
                             "  Y = an\n"
                             "endif\n";
  for (const Env& env : {k_base_env, with(k_base_env, {"A=1"}), with(k_base_env, {"B=1"}),
                         with(k_base_env, {"A=1", "B=1"})}) {
    expect_same_as_make(nested, "X", env);
    expect_same_as_make(nested, "Y", env);
  }
  // The condition sees the values assigned so far.
  expect_same_as_make("A = 1\nifeq ($(A),1)\nX = early\nendif\nA = 2\n", "X");
  expect_same_as_make("A = $(B)\nifeq ($(A),)\nX = empty\nendif\nB = 2\n", "X");
  // An assignment in a taken branch is visible to later conditions.
  expect_same_as_make("ifeq (a,a)\nA = 1\nendif\nifdef A\nX = seen\nendif\n", "X");
}

TEST_F(MakeProbe, SkippedBranchesAreNotRead) {
  // Inside a branch not taken make expands nothing and checks no syntax
  // except that of its conditional directives.
  for (const char* text : {
           "ifeq (a,b)\nX = $(shell false)\nY != false\nrule: prereq\n"
           "export Z\ninclude missing.mk\nelse\nX = taken\nendif\n",
           "ifeq (a,b)\nifeq garbage\nifdef two words\nX = a\nendif\nendif\nendif\nX ?= "
           "d\n",
           "ifeq (a,b)\nifeq (a,a)\nX = inner\nelse\nX = inner-else\nendif\nendif\nX ?= "
           "d\n",
           // After a taken branch, make does not even parse the else-if.
           "ifeq (a,a)\nX = first\nelse ifeq garbage\nX = second\nendif\n",
           "ifeq (a,a)\nX = first\nelse ifeq ($(shell false),)\nX = second\nendif\n",
           "ifdef UNDEF\nifeq ($(CC),cc)\nX = cc\nendif\nelse\nX = d\nendif\n",
       }) {
    expect_same_as_make(text, "X");
  }
}

// Conditionals make rejects or prints a message for (or that need what the
// probe does not model); make's reaction is shown first.
TEST_F(MakeProbe, ConditionalErrorsAreLeftToMake) {
  struct Case {
    const char* text;
    const char* make_says;
  };
  const Case cases[] = {
      {"ifeq (a,a)\nX = a\n", "missing 'endif'"},
      {"X = a\nendif\n", "extraneous 'endif'"},
      {"X = a\nelse\n", "extraneous 'else'"},
      {"ifeq (a,b)\nelse\nelse\nendif\nX = a\n", "only one 'else'"},
      {"ifeq (a,b)\nifeq (c,d)\nelse\nelse\nendif\nendif\nX = a\n", "only one 'else'"},
      {"ifeq (a,a) x\nX = a\nendif\n", "extraneous text"},
      {"ifeq \"a\" \"a\" x\nX = a\nendif\n", "extraneous text"},
      {"ifeq (a,a)\nX = a\nendif x\n", "extraneous text"},
      {"ifeq (a,b)\nelse junk\nendif\nX = a\n", "extraneous text"},
      {"ifeq (a,b)\nelse else\nendif\nX = a\n", "extraneous text"},
      {"ifeq (a,b)\nelse ifeq garbage\nendif\nX = a\n", "extraneous text"},
      {"ifeq\nX = a\nendif\n", "invalid syntax"},
      {"ifeq a a\nX = a\nendif\n", "invalid syntax"},
      {"ifeq (a a)\nX = a\nendif\n", "invalid syntax"},
      {"ifeq (a,a\nX = a\nendif\n", "invalid syntax"},
      {"ifeq \"a\" \"a\nX = a\nendif\n", "invalid syntax"},
      {"ifeq \"a\" (a)\nX = a\nendif\n", "invalid syntax"},
      {"ifdef A B\nX = a\nendif\n", "invalid syntax"},
      {"E =\nifdef $(E) A\nX = a\nendif\n", "invalid syntax"},
      {"ifeq (a,(b)\nX = a\nendif\n", "invalid syntax"},
      // The comma inside braces ends the first argument.
      {"ifeq (${if a,x,y},x)\nX = a\nendif\n", "unterminated call"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto made = run_make(c.text, "X", k_base_env);
    EXPECT_NE(made.output.find(c.make_says), std::string::npos) << made.output;
    expect_unsupported(c.text);
  }
}

TEST_F(MakeProbe, ConditionalsLeftToMake) {
  // Make's built-in and unmodelled variables, and functions, in a condition.
  expect_unsupported("ifdef CC\nX = a\nendif\n");
  expect_unsupported("ifeq ($(CC),cc)\nX = a\nendif\n");
  expect_unsupported("ifeq ($(shell echo a),a)\nX = a\nendif\n");
  expect_unsupported("ifeq (a,b)\nelse ifeq ($(shell echo a),a)\nX = a\nendif\n");
  // ifdef of names outside [A-Za-z0-9_] (.VARIABLES, imported bash
  // functions) or of nothing: not modelled.
  expect_unsupported("ifdef .VARIABLES\nX = a\nendif\n");
  expect_unsupported("ifdef\nX = a\nendif\n");
  // An assignment in a taken branch is checked as anywhere else.
  expect_unsupported("ifeq (a,a)\nX != echo a\nendif\n");
  // In a skipped branch `define` swallows lines up to `endef`, even an
  // `endif`; not modelled.
  expect_unsupported("ifeq (a,b)\ndefine X\nendif\nendef\nX = 2\nendif\n");
  // Read without the define, this would give "mine".
  const std::string swallowed = "ifeq (a,b)\ndefine Y\nelse ifeq (a,a)\nX = mine\nelse\n"
                                "endef\nendif\nX ?= d\n";
  EXPECT_EQ(run_make(swallowed, "X", k_base_env).output, "d\n");
  expect_unsupported(swallowed);
  // Directive words followed by an operator may be assignments.
  expect_unsupported("ifeq = 5\nX = a\n");
  expect_unsupported("ifeq (a,b)\nendif := 1\nendif\nX = a\n");
  // Here make reads `ifeq = 1` as a skipped assignment, so the first endif
  // closes the outer level and the second is an error.
  auto made = run_make("ifeq (a,b)\nifeq = 1\nendif\nX = a\nendif\n", "X", k_base_env);
  EXPECT_NE(made.output.find("extraneous 'endif'"), std::string::npos) << made.output;
  expect_unsupported("ifeq (a,b)\nifeq = 1\nendif\nX = a\nendif\n");
  // Tabs, comments and continuations, even in skipped lines.
  expect_unsupported("\tifeq (a,a)\nX = a\nendif\n");
  expect_unsupported("ifeq\t(a,a)\nX = a\nendif\n");
  expect_unsupported("ifeq (a,a) # c\nX = a\nendif\n");
  expect_unsupported("ifeq (a,b)\nY = \\\nendif\nendif\nX = a\n");
  // No space between the word and its argument: not a conditional to make.
  expect_unsupported("ifeq(a,a)\nX = a\nendif\n");
}

// Each construct below is outside the subset (make would read or print it
// differently, run a program, or stop with an error).
TEST(MakeProbeUnsupported, Directives) {
  expect_unsupported("include other.mk\nX = a\n");
  expect_unsupported("export X = a\n");
  expect_unsupported("define X\na\nendef\n");
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
