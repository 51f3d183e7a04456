// The literal answer and the one-shell evaluation are checked against bash
// itself (the evaluator script upstream's safe_source() is mirrored by),
// never against expected values written here.
#include "../test_support.hpp"
#include "core/conf_cache.hpp"
#include "core/dkms_conf_literal.hpp"
#include "core/dkms_conf_shell.hpp"
#include "util/fs.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <random>
#include <unistd.h>

namespace {

using test_support::write_text;

class LiteralConf : public ::testing::Test {
protected:
  // The chain a dkms.conf read builds (core::evaluate), over given files.
  core::ShellChain chain_of(const std::vector<std::string>& texts) {
    core::ShellChain chain;
    chain.variables = {{"kernelver", "6.1.0-test"},
                       {"arch", "x86_64"},
                       {"kernel_source_dir", "/lib/modules/6.1.0-test/build"},
                       {"dkms_tree", "/var/lib/my  dkms\tdir"}};
    chain.names = core::conf_accepted_names();
    chain.unset_names_first = true;
    chain.positional = "PACKAGE_NAME";
    chain.deprecation_warnings = true;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string path = t.root / ("conf-" + std::to_string(m_files++));
      write_text(path, texts[i]);
      chain.files.push_back(path);
    }
    return chain;
  }

  std::optional<core::LiteralAnswer> literal(const core::ShellChain& chain,
                                             const std::vector<std::string>& env = {},
                                             const std::vector<std::string>& cwd = {}) {
    return core::literal_chain_values(chain, env, cwd);
  }

  // Answered without bash, and the same as bash's answer (which printed
  // nothing). Both see this process's environment.
  void expect_as_bash(const std::vector<std::string>& texts) {
    auto chain = chain_of(texts);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      env.emplace_back(*e);
    }
    auto ours = literal(chain, env);
    ASSERT_TRUE(ours) << texts.front();
    expect_same_as_bash(chain, *ours, texts.front());
  }

  // Bash prints nothing on stdout, and on stderr what the answer says.
  void expect_same_as_bash(const core::ShellChain& chain, const core::LiteralAnswer& ours,
                           const std::string& what) {
    t.begin_capture();
    auto bash = core::evaluate_chain_in_bash(t.ctx, chain);
    auto printed = t.end_capture();
    EXPECT_EQ(printed.out, "") << what;
    EXPECT_EQ(printed.err, ours.warnings) << what;
    EXPECT_EQ(ours.values, bash) << what;
  }

  // The one-shell evaluation of one file, when it answers, gives bash's
  // values and prints what bash prints. Returns whether it answered.
  bool one_shell_as_bash(const std::string& text, const std::string& what) {
    auto chain = chain_of({text});
    t.begin_capture();
    auto ours = core::evaluate_chain_in_one_shell(t.ctx, chain);
    auto ours_printed = t.end_capture();
    t.begin_capture();
    auto bash = core::evaluate_chain_in_bash(t.ctx, chain);
    auto bash_printed = t.end_capture();
    if (!ours) {
      EXPECT_EQ(ours_printed.merged, "") << what; // printed nothing on the way
      return false;
    }
    EXPECT_EQ(*ours, bash) << what;
    EXPECT_EQ(ours_printed.out, bash_printed.out) << what;
    EXPECT_EQ(ours_printed.err, bash_printed.err) << what;
    return true;
  }

  void expect_left_to_bash(const std::string& text) {
    EXPECT_FALSE(literal(chain_of({text}))) << text;
  }

  test_support::TestContext t;
  int m_files = 0;
};

TEST_F(LiteralConf, TypicalFilesAsBashReadsThem) {
  expect_as_bash({"PACKAGE_NAME=\"hello\"\nPACKAGE_VERSION=\"1.0\"\n"
                  "BUILT_MODULE_NAME[0]=\"hello\"\n"
                  "DEST_MODULE_LOCATION[0]=\"/updates/dkms\"\nAUTOINSTALL=\"yes\"\n"});
  expect_as_bash({"# a comment\n\n  PACKAGE_NAME=hello   # trailing comment\n"
                  "\tMAKE[0]='make -C src KVER=x'\nPACKAGE_VERSION=2.0-1+b1\n"
                  "BUILT_MODULE_NAME[10]=ten\nBUILT_MODULE_NAME[2]=\"two\"\n"
                  "MAKE[0]=\"replaced\"\nPOST_BUILD=\nPRE_BUILD=\"\"  \n"});
  // No newline at the end; an apostrophe inside double quotes; UTF-8.
  expect_as_bash({"PACKAGE_NAME=\"it's\" # Ünïcödé\nBUILT_MODULE_NAME[1]=\"módulo\""});
}

TEST_F(LiteralConf, DeprecatedNamesAreAnsweredWithTheirWarnings) {
  expect_as_bash({"PACKAGE_NAME=x\nCLEAN=\"make clean\"\nREMAKE_INITRD=yes\n"
                  "MODULES_CONF[1]=a\nMODULES_CONF_OBSOLETE_ONLY=\n"});
  // CLEAN naming true is not reported; an empty CLEAN is; a later file
  // reports what an earlier one set again.
  expect_as_bash({"CLEAN=true\n", "CLEAN=/usr/bin/true\nMODULES_CONF_ALIAS_TYPE=x\n"});
  expect_as_bash(
      {"CLEAN=\"\"\n", "PACKAGE_NAME=x\n", "CLEAN[1]=true\nCLEAN=/bin/true\n"});
  expect_as_bash({"MODULES_CONF_OBSOLETES[3]=x\n", "CLEAN[2]=true\n"});
  // A lenient read prints nothing.
  auto chain = chain_of({"CLEAN=\"make clean\"\n"});
  chain.deprecation_warnings = false;
  auto ours = literal(chain);
  ASSERT_TRUE(ours);
  expect_same_as_bash(chain, *ours, "lenient");
  EXPECT_EQ(ours->warnings, "");
}

TEST_F(LiteralConf, BlankRunsBecomeOneSpaceAsUpstreamsEchoLeavesThem) {
  expect_as_bash({"MAKE[0]=\"make   -j1\tKERNELRELEASE=x  \"\nSTRIP[0]=\"  no \"\n"
                  "PACKAGE_NAME=\" \t \"\nPACKAGE_VERSION='a \t b'\n"});
}

TEST_F(LiteralConf, LaterFilesOverrideEarlierOnes) {
  expect_as_bash({"PACKAGE_NAME=one\nMAKE[0]=\"make  one\"\nBUILT_MODULE_NAME[3]=x\n",
                  "MAKE[0]=two\nMAKE[1]=\"b  c\"\nAUTOINSTALL=yes\n"});
}

TEST_F(LiteralConf, AnythingElseIsLeftToBash) {
  for (const char* text : {
           "MAKE[0]='make $kernelver'\n",
           "PACKAGE_NAME=$(echo x)\n",
           "PACKAGE_NAME=`echo x`\n",
           "if true; then PACKAGE_NAME=x; fi\n",
           "PACKAGE_NAME=x PACKAGE_VERSION=1\n",
           "PACKAGE_NAME=x; PACKAGE_VERSION=1\n",
           "export PACKAGE_NAME=x\n",
           "MY_OWN_VARIABLE=x\n",
           "MAKE[0]=\"a*b\"\n",
           "MAKE[0]=\"a?b\"\n",
           "MAKE[0]=\"a[b]\"\n",
           "MAKE[0]=\"@(a)\"\n",
           "MAKE[08]=x\n",
           "MAKE[i]=x\n",
           "PACKAGE_NAME=\"two\nlines\"\n",
           "PACKAGE_NAME=x\r\n",
           "PACKAGE_NAME=\"a\\\"b\"\n",
           "PACKAGE_NAME=a\\\n",
           "PACKAGE_NAME+=x\n",
           "PACKAGE_NAME=~/x\n",
           "PACKAGE_NAME=\"a\"b\n",
           "PACKAGE_NAME=a#b\n",
           "\xef\xbb\xbfPACKAGE_NAME=x\n",
           "PACKAGE_NAME=(a b)\n",
           "PACKAGE_NAME='a\"b'\n",
       }) {
    expect_left_to_bash(text);
  }
}

TEST_F(LiteralConf, KnownVariablesAreExpandedAsBashExpandsThem) {
  setenv("DKMS_LITERAL_TEST", "from  the\tenvironment", 1);
  // dkms's variables (one with blanks the echo collapses), names the chain
  // assigned before (the raw value within a file), unset names.
  expect_as_bash({"PACKAGE_NAME=hello\nPACKAGE_VERSION=\"1.0  beta\"\n"
                  "MAKE[0]=\"make -C ${kernel_source_dir} M=$dkms_tree/${PACKAGE_NAME}/"
                  "$PACKAGE_VERSION/build KERNELRELEASE=$kernelver\"\n"
                  "BUILT_MODULE_LOCATION[0]=src/$arch/${kernelver}x\n"
                  "STRIP[0]=\"$PACKAGE_NAME-1 $kernelver_x ${AUTOINSTALL}.\"\n"
                  "POST_BUILD=$DKMS_LITERAL_TEST:$DKMS_LITERAL_UNSET\n"});
  // Before its assignment; an element other than 0; a later file sees
  // what the echo left of an earlier one.
  expect_as_bash(
      {"MAKE[0]=\"<$PACKAGE_NAME>\"\nBUILT_MODULE_NAME[1]=one\n"
       "PACKAGE_NAME=\"a   b\"\nPACKAGE_VERSION=\"$BUILT_MODULE_NAME|$PACKAGE_NAME\"\n",
       "MAKE[1]=\"$PACKAGE_NAME $MAKE\"\n"});
  unsetenv("DKMS_LITERAL_TEST");
}

TEST_F(LiteralConf, ExpansionsOnlyBashKnowsAreLeftToBash) {
  auto chain_with = [this](const std::string& text, const std::string& name,
                           const std::string& value) {
    auto chain = chain_of({text});
    chain.variables.emplace_back(name, value);
    return chain;
  };
  for (const char* text : {
           "MAKE[0]=\"$HOSTNAME\"\n",
           "MAKE[0]=\"$PWD\"\n",
           "MAKE[0]=\"$BASH_VERSION\"\n",
           "MAKE[0]=\"$SHLVL\"\n",
           "MAKE[0]=\"$_\"\n",
           "MAKE[0]=\"$__dkms_file\"\n",
           "MAKE[0]=\"$1\"\n",
           "MAKE[0]=\"$$\"\n",
           "MAKE[0]=\"a$\"\n",
           "MAKE[0]=\"${kernelver:-x}\"\n",
           "MAKE[0]=\"${#kernelver}\"\n",
           "MAKE[0]=\"${MAKE[0]}\"\n",
           "MAKE[0]=\"${kernelver\"\n",
           "MAKE[0]=$kernelver[0]\n",
           "MAKE[0]=$(uname)\n",
       }) {
    expect_left_to_bash(text);
  }
  // Values the echo would glob with or the second pass would expand.
  for (const char* value :
       {"a*", "a?", "[ab]", "$x", "`x`", "a\\b", "a\"b", "@(x)", "a\rb"}) {
    EXPECT_FALSE(literal(chain_with("MAKE[0]=\"$mine\"\n", "mine", value))) << value;
    EXPECT_FALSE(literal(chain_of({"MAKE[0]=$MINE\n"}), {std::string("MINE=") + value}))
        << value;
  }
  EXPECT_TRUE(literal(chain_with("MAKE[0]=\"$mine\"\n", "mine", "a b")));
}

// Opt-in: DKMS_CONF_CORPUS names a directory of dkms.conf files (real
// packages' files are not ours to ship). Each one the literal answer takes
// must come out as bash has it; the share it takes is printed.
TEST_F(LiteralConf, CorpusFilesAsBash) {
  const char* dir = getenv("DKMS_CONF_CORPUS");
  if (dir == nullptr) {
    GTEST_SKIP() << "DKMS_CONF_CORPUS not set";
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  int answered = 0;
  int total = 0;
  for (const auto& name : util::list_dir(dir)) {
    auto text = util::read_file(std::string(dir) + "/" + name);
    ASSERT_TRUE(text) << name;
    auto chain = chain_of({*text});
    ++total;
    auto ours = literal(chain, env);
    if (!ours) {
      std::cout << "left to bash: " << name << "\n";
      continue;
    }
    ++answered;
    expect_same_as_bash(chain, *ours, name);
  }
  std::cout << answered << " of " << total << " files answered without bash\n";
  EXPECT_GT(total, 0);
}

TEST_F(LiteralConf, CorpusFilesInOneShellAsBash) {
  const char* dir = getenv("DKMS_CONF_CORPUS");
  if (dir == nullptr) {
    GTEST_SKIP() << "DKMS_CONF_CORPUS not set";
  }
  int answered = 0;
  int total = 0;
  for (const auto& name : util::list_dir(dir)) {
    auto text = util::read_file(std::string(dir) + "/" + name);
    ASSERT_TRUE(text) << name;
    ++total;
    if (one_shell_as_bash(*text, name)) {
      ++answered;
    } else {
      std::cout << "left to the subshell: " << name << "\n";
    }
  }
  std::cout << answered << " of " << total << " files answered in one shell\n";
  EXPECT_GT(total, 0);
}

// Files only bash can read, sourced without upstream's subshell: where the
// shortcut answers, it must be bash's answer; where the difference could
// show (exit, exec, an EXIT trap, legacy directives, the subshell's own
// variables, a second expansion), it must step aside.
TEST_F(LiteralConf, OneShellAnswersAsTheSubshellDoes) {
  for (const char* text : {
           "PACKAGE_NAME=x\nMAKE[0]=\"make -j$(echo 2) KVER=${kernelver}\"\n",
           "if [ -n \"$kernelver\" ]; then BUILT_MODULE_NAME[0]=a; else "
           "BUILT_MODULE_NAME[0]=b; fi\n",
           "PROCS=$(echo 4)\n[ $PROCS -gt 2 ] && PROCS=2\nMAKE=\"make -j$PROCS\"\n",
           "f() { echo \"to stderr\" >&2; }\nf\nPACKAGE_NAME=x\necho to stdout\n",
           "IFS=:\nMAKE=\"a:b  c\"\n",
           "readonly PACKAGE_NAME=x\nkernelver=changed\nMAKE=\"$kernelver\"\n",
           "MAKE[0]=\"a   b\"\nMAKE[1]='*'\nSTRIP[3]=no\n",
           "exec 3>/dev/null\nPACKAGE_NAME=x\n",
           "cd /\nPACKAGE_NAME=\"*\"\n",
           "return\nPACKAGE_NAME=x\n",
           "__dkms_names=(PACKAGE_NAME)\nPACKAGE_NAME=x\nMAKE=y\n",
           "CLEAN=\"make clean\"\nREMAKE_INITRD=$(echo no)\n",
           "BUILD_EXCLUSIVE_KERNEL=\"^6\\.([8-9]|1[0-2])\"\nMAKE=\"a\\\\b\"\n",
       }) {
    EXPECT_TRUE(one_shell_as_bash(text, text)) << text;
  }
  for (const char* text : {
           "set -e\nfalse\nPACKAGE_NAME=x\n",
           "BUILT_MODULE_NAME[08]=y\nPACKAGE_NAME=x\n",
           "PACKAGE_NAME=x\nexit 3\n",
           "PACKAGE_NAME=x\nexit 0\n",
           "exec true\n",
           "trap 'echo PACKAGE_NAME[0]=\\\"trapped\\\"' EXIT\nPACKAGE_NAME=x\n",
           "DKMS_DIRECTIVE_A=\"MAKE=foo\"\nPACKAGE_NAME=x\n",
           "PACKAGE_NAME=$BASH_SUBSHELL\n",
           "X='$HOME'\nMAKE[0]=\"$X\"\n",
           "MAKE[0]=\"'make' KDIR=\\\"$kernel_source_dir\\\"\"\n",
           "echo warning >&2\nMAKE='a\\\\$b'\n",
           "MAKE='a\\'\n",
           "MAKE='a\\`b'\n",
       }) {
    EXPECT_FALSE(one_shell_as_bash(text, text)) << text;
  }
  // An environment that changes how bash runs its script (traces, errexit)
  // would show the two scripts' differences.
  setenv("SHELLOPTS", "xtrace", 1);
  const bool traced = one_shell_as_bash("PACKAGE_NAME=$(echo x)\n", "SHELLOPTS=xtrace");
  unsetenv("SHELLOPTS");
  EXPECT_FALSE(traced);
  // Chains of more than one file keep the subshell between them.
  auto two = chain_of({"X=1\n", "MAKE=\"$X\"\n"});
  EXPECT_FALSE(core::evaluate_chain_in_one_shell(t.ctx, two));
}

TEST_F(LiteralConf, WhatBashWouldFindAroundItIsLeftToBash) {
  auto chain = chain_of({"PACKAGE_NAME=x\n"});
  EXPECT_TRUE(literal(chain, {"PACKAGE_NAME=from-env"}));
  // What bash reads at start-up could change everything.
  for (const char* env : {"BASH_ENV=/x", "BASH_FUNC_echo%%=() { :; }", "SHELLOPTS=xtrace",
                          "ENV=/x", "POSIXLY_CORRECT=1", "PS4=+"}) {
    EXPECT_FALSE(literal(chain, {"PATH=/bin", env})) << env;
  }
  // The echo's word PACKAGE_NAME[0]="x" globs in the working directory.
  EXPECT_FALSE(literal(chain, {}, {"PACKAGE_NAME0=\"x\""}));
  chain.directives = {{"MAKE", "make"}};
  EXPECT_FALSE(literal(chain));
  chain.directives.clear();
  chain.files.push_back(t.root / "no-such-file");
  EXPECT_FALSE(literal(chain));
  chain.files.back() = "/dev/null"; // not a regular file
  EXPECT_FALSE(literal(chain));
  // framework.conf's chain keeps values the names already have.
  auto framework = chain_of({"verbose=1\n"});
  framework.names = {"verbose", "dkms_tree"};
  framework.unset_names_first = false;
  framework.variables = {{"kernelver", "6.1.0-test"}};
  EXPECT_TRUE(literal(framework, {"PATH=/bin"}));
  EXPECT_FALSE(literal(framework, {"dkms_tree=/x"}));
  framework.variables.push_back({"verbose", "0"});
  EXPECT_FALSE(literal(framework));
}

TEST_F(LiteralConf, RandomLiteralFilesAsBash) {
  // Lines drawn from the subset with random blanks, checked 40 times.
  const std::vector<std::string> names = {
      "PACKAGE_NAME",         "MAKE",  "BUILT_MODULE_NAME", "CLEAN",
      "DEST_MODULE_LOCATION", "STRIP", "AUTOINSTALL",       "REMAKE_INITRD"};
  const std::vector<std::string> words = {"a",       "make",         "-C",
                                          "/lib/x",  "KVER=1",       "x.y",
                                          "ü",       "it's",         "",
                                          "a:b,c",   "%@+",          "$kernelver",
                                          "${arch}", "$dkms_tree/x", "${PACKAGE_NAME}-1",
                                          "$MAKE",   "$unset_name",  "x${STRIP}y",
                                          "true",    "/bin/true"};
  std::mt19937 rng(12345);
  auto pick = [&rng](const auto& v) { return v[rng() % v.size()]; };
  auto blanks = [&rng]() {
    static const std::vector<std::string> b = {"", " ", "  ", "\t", " \t "};
    return b[rng() % b.size()];
  };
  for (int round = 0; round < 40; ++round) {
    std::string text;
    for (int line = 0, n = 1 + static_cast<int>(rng() % 6); line < n; ++line) {
      text += blanks() + pick(names);
      if (rng() % 2 != 0) {
        text += "[" + std::to_string(rng() % 12) + "]";
      }
      text += "=";
      std::string value;
      for (int w = 0, m = static_cast<int>(rng() % 4); w < m; ++w) {
        value += (w != 0 ? blanks() + " " : blanks()) + pick(words);
      }
      switch (rng() % 3) {
      case 0:
        text += "\"" + value + "\"";
        break;
      case 1:
        text += value.find_first_of("'$") == std::string::npos ? "'" + value + "'"
                                                               : "\"" + value + "\"";
        break;
      default:
        text += (rng() % 2 != 0 ? "x-" : "$kernelver-") + std::to_string(rng() % 100);
      }
      if (rng() % 3 == 0) {
        text += blanks() + " # note $(not run)";
      }
      text += "\n";
    }
    expect_as_bash({text});
    EXPECT_TRUE(one_shell_as_bash(text, text)) << text;
  }
}

} // namespace
