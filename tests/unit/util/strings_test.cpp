#include "core/subprocess.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using Strings = std::vector<std::string>;

TEST(Split, KeepsEmptyFields) {
  EXPECT_EQ(util::split("a,b,,c", ','), (Strings{"a", "b", "", "c"}));
  EXPECT_EQ(util::split("a,", ','), (Strings{"a", ""}));
  EXPECT_EQ(util::split(",a", ','), (Strings{"", "a"}));
  EXPECT_EQ(util::split("", ','), Strings{""});
  EXPECT_EQ(util::split("abc", ','), Strings{"abc"});
  EXPECT_EQ(util::split("l1\nl2\n", '\n'), (Strings{"l1", "l2", ""}));
}

TEST(SplitWords, DropsRunsOfBlanks) {
  EXPECT_EQ(util::split_words("  a\tb\n\n c  "), (Strings{"a", "b", "c"}));
  EXPECT_EQ(util::split_words(""), Strings{});
  EXPECT_EQ(util::split_words(" \t\n"), Strings{});
  EXPECT_EQ(util::split_words("one"), Strings{"one"});
}

TEST(Join, WithSeparator) {
  EXPECT_EQ(util::join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(util::join({"a"}, "/"), "a");
  EXPECT_EQ(util::join({}, "/"), "");
  EXPECT_EQ(util::join({"", ""}, "/"), "/");
}

TEST(Trim, BlanksAtBothEnds) {
  EXPECT_EQ(util::trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(util::trim("x"), "x");
  EXPECT_EQ(util::trim(" \n\t"), "");
  EXPECT_EQ(util::trim(""), "");
}

TEST(Affixes, StartsAndEndsWith) {
  EXPECT_TRUE(util::starts_with("--archive=x", "--arch"));
  EXPECT_TRUE(util::starts_with("abc", ""));
  EXPECT_FALSE(util::starts_with("ab", "abc"));
  EXPECT_FALSE(util::starts_with("xabc", "abc"));
  EXPECT_TRUE(util::ends_with("foo.ko.xz", ".ko.xz"));
  EXPECT_TRUE(util::ends_with("abc", ""));
  EXPECT_FALSE(util::ends_with("xz", ".xz"));
  EXPECT_FALSE(util::ends_with("foo.ko.xz.bak", ".xz"));
}

TEST(ShellQuote, BashReadsBackTheSameWord) {
  const Strings samples = {"plain", "a b",   "it's", "",           "$HOME", "`id`",
                           "\\",    "\"q\"", "*",    "two\nlines", "''",    "a'b'c"};
  std::string script = "printf '<%s>'";
  std::string expected;
  for (const auto& s : samples) {
    script += ' '; // not " " + ...: GCC 12's -O3 -Wrestrict false positive
    script += util::shell_quote(s);
    expected += "<" + s + ">";
  }
  auto r = core::run_capture({"bash", "-c", script});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, expected);
  EXPECT_EQ(util::shell_quote("it's"), "'it'\\''s'");
}

TEST(GlobMatch, FnmatchWithHiddenEntriesProtected) {
  EXPECT_TRUE(util::glob_match("dkms*_test", "dkms_test"));
  EXPECT_TRUE(util::glob_match("dkms*_test", "dkms-foo_test"));
  EXPECT_FALSE(util::glob_match("dkms*_test", "mydkms_test"));
  EXPECT_FALSE(util::glob_match("dkms*_test", "dkms_test2"));
  EXPECT_TRUE(util::glob_match("6.1*", "6.12.117"));
  EXPECT_TRUE(util::glob_match("kernel-*-*", "kernel-6.1.0-56-amd64-x86_64"));
  EXPECT_FALSE(util::glob_match("kernel-*-*", "kernel-6.1"));
  EXPECT_FALSE(util::glob_match("*", ".hidden"));
  EXPECT_TRUE(util::glob_match(".*", ".hidden"));
  EXPECT_TRUE(util::glob_match("[ab]?", "b1"));
}

TEST(EreSearch, UnanchoredExtendedRegex) {
  EXPECT_TRUE(util::ere_search("b+", "abbc"));
  EXPECT_TRUE(util::ere_search("^6\\.(1|12)\\.", "6.12.117"));
  EXPECT_FALSE(util::ere_search("^6\\.(1|12)\\.", "5.10.0"));
  EXPECT_TRUE(util::ere_search("x86_64|aarch64", "arch=aarch64"));
  EXPECT_FALSE(util::ere_search("^(un)?build$", "rebuild"));
  EXPECT_TRUE(util::ere_search("^(un)?build$", "unbuild"));
  EXPECT_TRUE(util::ere_search("", "anything"));
  EXPECT_FALSE(util::ere_search("(", "("));      // invalid regex never matches
  EXPECT_TRUE(util::ere_search("a{2}", "caab")); // interval: POSIX ERE, not BRE
}

TEST(FirstLine, UpToNewline) {
  EXPECT_EQ(util::first_line("a b\nc\n"), "a b");
  EXPECT_EQ(util::first_line("\nx"), "");
  EXPECT_EQ(util::first_line("only"), "only");
  EXPECT_EQ(util::first_line(""), "");
}

} // namespace

TEST(LinesStartingWith, WholeLinesInOrder) {
  const std::string text =
      "CONFIG_A=y\nCONFIG_AB=m\n# CONFIG_A is not set\nCONFIG_A=\"x\"";
  EXPECT_EQ(util::lines_starting_with(text, "CONFIG_A="),
            (std::vector<std::string_view>{"CONFIG_A=y", "CONFIG_A=\"x\""}));
  EXPECT_EQ(util::lines_starting_with(text, "CONFIG_A").size(), 3u);
  EXPECT_TRUE(util::lines_starting_with(text, "CONFIG_B").empty());
  EXPECT_TRUE(util::lines_starting_with("", "X").empty());
  // An empty last line (text ending in a newline) is no line of its own.
  EXPECT_EQ(util::lines_starting_with("a\n", ""), (std::vector<std::string_view>{"a"}));
}

namespace {

TEST(ShellName, BashsRuleInAscii) {
  for (char c : std::string("azAZ_")) {
    EXPECT_TRUE(util::is_shell_name_start(c)) << c;
    EXPECT_TRUE(util::is_shell_name_char(c)) << c;
  }
  for (char c : std::string("09")) {
    EXPECT_FALSE(util::is_shell_name_start(c)) << c;
    EXPECT_TRUE(util::is_shell_name_char(c)) << c;
  }
  for (char c : std::string("-.$[ =\xc3")) {
    EXPECT_FALSE(util::is_shell_name_start(c)) << c;
    EXPECT_FALSE(util::is_shell_name_char(c)) << c;
  }
}

} // namespace
