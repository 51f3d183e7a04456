#include "core/subprocess.hpp"
#include "core/version.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace {

TEST(VerKey, SpecExamples) {
  // The two examples given in SPEC §0.6 (and upstream's VER() comment).
  EXPECT_EQ(core::ver_key("2.6.9-1cvs200409091247"), "002.006.009-001cvs200409091247");
  EXPECT_EQ(core::ver_key("6.12.107+deb12-amd64"), "006.012.107+deb012-amd064");
}

TEST(VerKey, PaddingAndSpaces) {
  EXPECT_EQ(core::ver_key(""), "");
  EXPECT_EQ(core::ver_key("1234"), "1234");
  EXPECT_EQ(core::ver_key("007"), "007");
  EXPECT_EQ(core::ver_key("abc"), "abc");
  // OBSOLETE_BY comparisons replace '-' by ' ' first; spaces vanish.
  EXPECT_EQ(core::ver_key("5.10.0 1 amd64"), "005.010.000001amd064");
  EXPECT_EQ(core::ver_key("1 2"), "001002");
  EXPECT_EQ(core::ver_key(" a 1 "), "a001");
}

TEST(VerCompare, OrdersPaddedKeys) {
  EXPECT_LT(core::ver_compare("6.1.0", "6.12.0"), 0);
  EXPECT_GT(core::ver_compare("6.12.0", "6.1.0"), 0);
  EXPECT_EQ(core::ver_compare("1.2", "001.002"), 0);
  EXPECT_LT(core::ver_compare("1.9", "1.10"), 0);
  // Runs longer than three digits are not padded: 1000 sorts before 999
  // because '1' < '9' (upstream behaviour, kept).
  EXPECT_LT(core::ver_compare("1000", "999"), 0);
  EXPECT_GT(core::ver_compare("1.0a", "1.0"), 0);
}

// Expected order produced by `LC_ALL=C sort -V` (coreutils 9.1) on this
// list, checked by hand against gnulib's documented rules.
const std::vector<std::string> k_sorted = {
    "",
    ".",
    "..",
    ".a1",
    ".hidden",
    "~~",
    "~",
    "1A",
    "1a",
    "1+2",
    "1-2",
    "1.0~",
    "1.0",
    "1.0.tar.gz",
    "1.0a",
    "1.001",
    "1.01",
    "1.1",
    "1.2.txt~",
    "1.2.3.txt",
    "1.2.10.txt",
    "1.010",
    "1_2",
    "5.10.0-1-cloud",
    "5.10.0-1-rt",
    "6.1~rc1",
    "6.1",
    "6.1-rc1",
    "6.1.0~rc1",
    "6.1.0",
    "6.1.0-9-amd64",
    "6.1.0-10-amd64",
    "6.1.0-56-amd64",
    "6.12.117+deb12-amd64",
    "007",
    "7",
    "9",
    "10",
    "Z",
    "a~b",
    "a.b",
    "abc~",
    "abc",
    "foo.tar.bz2",
    "foo-1.tar.gz",
    "foo-1.9.tar.gz",
    "foo-1.10.tar.gz",
    "x.~",
    "z",
};

std::vector<std::string> version_sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
    return core::filevercmp(a, b) < 0;
  });
  return v;
}

TEST(FileVerCmp, MatchesSortV) {
  std::vector<std::string> shuffled = k_sorted;
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  EXPECT_EQ(version_sorted(shuffled), k_sorted);
}

TEST(FileVerCmp, Basics) {
  EXPECT_EQ(core::filevercmp("1.2", "1.2"), 0);
  EXPECT_LT(core::filevercmp("6.1.0-56-amd64", "6.12.117+deb12-amd64"), 0);
  EXPECT_GT(core::filevercmp("2.0", "1.99"), 0);
  EXPECT_LT(core::filevercmp("1.0~rc1", "1.0"), 0);
}

// Random strings over a small, version-heavy alphabet, checked against the
// real sort(1) when it is available.
TEST(FileVerCmp, RandomAgainstSortV) {
  if (core::find_in_path("sort").empty()) {
    GTEST_SKIP() << "sort not found";
  }
  const std::string alphabet = "0019.~-+_aZb..";
  std::mt19937 rng(7);
  std::vector<std::string> items;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    size_t len = rng() % 8;
    for (size_t k = 0; k < len; ++k) {
      s += alphabet[rng() % alphabet.size()];
    }
    items.push_back(s);
  }
  core::ProcessSpec spec;
  spec.argv = {"sort", "-V"};
  spec.env_set = {{"LC_ALL", "C"}};
  spec.out = core::Sink::capture;
  spec.stdin_data = util::join(items, "\n") + "\n";
  core::ProcessResult r = core::run_process(spec);
  ASSERT_EQ(r.status, 0);
  std::vector<std::string> expected = util::split(r.output, '\n');
  expected.pop_back(); // after the final newline
  std::vector<std::string> ours = version_sorted(items);
  ASSERT_EQ(ours.size(), expected.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ours[i], expected[i]) << "position " << i;
  }
}

} // namespace
