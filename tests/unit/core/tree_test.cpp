#include "../test_support.hpp"
#include "core/tree.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using core::KernelArch;
using core::State;
using test_support::make_dir;
using test_support::make_symlink;
using test_support::write_text;

class TreeTest : public ::testing::Test {
protected:
  std::string dt() const { return t.dt(); }

  // The states of SPEC §5.1/§5.2, built by hand.
  void add(const std::string& m, const std::string& v) {
    make_dir(t.st() + "/" + m + "-" + v);
    make_symlink(t.st() + "/" + m + "-" + v, dt() + "/" + m + "/" + v + "/source");
  }
  void build(const std::string& m, const std::string& v, const std::string& k,
             const std::string& a) {
    make_dir(dt() + "/" + m + "/" + v + "/" + k + "/" + a + "/module");
  }
  void install(const std::string& m, const std::string& v, const std::string& k,
               const std::string& a) {
    make_symlink(v + "/" + k + "/" + a, dt() + "/" + m + "/kernel-" + k + "-" + a);
  }

  test_support::TestContext t;
  const core::Context& ctx = t.ctx;
};

std::string describe(const std::vector<core::StatusEntry>& entries) {
  std::string s;
  for (const auto& e : entries) {
    const char* names[] = {"added", "built", "installed", "broken"};
    s += names[static_cast<int>(e.state)];
    s += " " + e.module + "/" + e.version;
    if (!e.target.kernel.empty() || !e.target.arch.empty()) {
      s += "/" + e.target.kernel + "/" + e.target.arch;
    }
    s += "\n";
  }
  return s;
}

std::string describe(const std::vector<core::ModuleVersion>& mvs) {
  std::string s;
  for (const auto& mv : mvs) {
    s += mv.module + "/" + mv.version + "\n";
  }
  return s;
}

// ---- paths ----------------------------------------------------------------

TEST_F(TreeTest, PathsFollowTheLayout) {
  KernelArch ka{"6.1.0-56-amd64", "x86_64"};
  const std::string d = dt();
  EXPECT_EQ(core::module_dir(ctx, "m"), d + "/m");
  EXPECT_EQ(core::version_dir(ctx, "m", "1.0"), d + "/m/1.0");
  EXPECT_EQ(core::base_dir(ctx, "m", "1.0", ka), d + "/m/1.0/6.1.0-56-amd64/x86_64");
  EXPECT_EQ(core::source_link(ctx, "m", "1.0"), d + "/m/1.0/source");
  EXPECT_EQ(core::build_dir(ctx, "m", "1.0"), d + "/m/1.0/build");
  EXPECT_EQ(core::source_tree_dir(ctx, "m", "1.0"), t.st() + "/m-1.0");
  EXPECT_EQ(core::kernel_link(ctx, "m", ka), d + "/m/kernel-6.1.0-56-amd64-x86_64");
  EXPECT_EQ(core::original_module_dir(ctx, "m", ka),
            d + "/m/original_module/6.1.0-56-amd64/x86_64");
}

// ---- added / broken -------------------------------------------------------

TEST_F(TreeTest, AddedNeedsASourceSymlinkToADirectory) {
  add("m", "1.0");
  EXPECT_TRUE(core::is_added(ctx, "m", "1.0"));
  EXPECT_FALSE(core::is_broken(ctx, "m", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "m", ""));
  EXPECT_FALSE(core::is_added(ctx, "", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "m", "2.0"));
  EXPECT_FALSE(core::is_broken(ctx, "m", ""));
}

TEST_F(TreeTest, SourceAsRealDirectoryIsNotAdded) {
  make_dir(dt() + "/m/1.0/source");
  EXPECT_FALSE(core::is_added(ctx, "m", "1.0"));
  // ... and not broken while ST/m-v does not exist either.
  EXPECT_FALSE(core::is_broken(ctx, "m", "1.0"));
}

TEST_F(TreeTest, DanglingOrFileSourceLinkIsBroken) {
  make_symlink(t.st() + "/gone-1.0", dt() + "/gone/1.0/source");
  EXPECT_TRUE(core::is_broken(ctx, "gone", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "gone", "1.0"));

  write_text(t.root / "afile", "x");
  make_symlink(t.root / "afile", dt() + "/file/1.0/source");
  EXPECT_TRUE(core::is_broken(ctx, "file", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "file", "1.0"));
}

TEST_F(TreeTest, MissingLinkWithSourceTreeIsBroken) {
  make_dir(dt() + "/m/1.0");
  make_dir(t.st() + "/m-1.0");
  EXPECT_TRUE(core::is_broken(ctx, "m", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "m", "1.0"));
}

TEST_F(TreeTest, NoLinkAndNoSourceTreeIsNeitherBrokenNorAdded) {
  build("m", "1.0", "6.1.0", "x86_64");
  EXPECT_FALSE(core::is_broken(ctx, "m", "1.0"));
  EXPECT_FALSE(core::is_added(ctx, "m", "1.0"));
  EXPECT_TRUE(core::is_built(ctx, "m", "1.0", {"6.1.0", "x86_64"}));
}

// ---- built / installed ----------------------------------------------------

TEST_F(TreeTest, BuiltMeansModuleDirectory) {
  KernelArch ka{"6.1.0", "x86_64"};
  make_dir(dt() + "/m/1.0/6.1.0/x86_64/log");
  EXPECT_FALSE(core::is_built(ctx, "m", "1.0", ka));
  write_text(dt() + "/m/1.0/6.1.0/x86_64/module", "not a dir");
  EXPECT_FALSE(core::is_built(ctx, "m", "1.0", ka));

  build("m", "2.0", "6.1.0", "x86_64"); // empty module/ is enough
  EXPECT_TRUE(core::is_built(ctx, "m", "2.0", ka));
  EXPECT_FALSE(core::is_built(ctx, "m", "2.0", {"6.1.0", ""}));
  EXPECT_FALSE(core::is_built(ctx, "m", "2.0", {"", "x86_64"}));
  EXPECT_FALSE(core::is_built(ctx, "m", "", ka));

  // A symlink to a directory counts (-d follows links).
  make_dir(t.root / "elsewhere");
  make_symlink(t.root / "elsewhere", dt() + "/m/3.0/6.1.0/x86_64/module");
  EXPECT_TRUE(core::is_built(ctx, "m", "3.0", ka));
}

TEST_F(TreeTest, InstalledNeedsKernelLinkResolvingToBase) {
  KernelArch ka{"6.1.0", "x86_64"};
  build("m", "1.0", "6.1.0", "x86_64");
  build("m", "2.0", "6.1.0", "x86_64");
  EXPECT_FALSE(core::is_installed(ctx, "m", "1.0", ka));

  install("m", "1.0", "6.1.0", "x86_64");
  EXPECT_TRUE(core::is_installed(ctx, "m", "1.0", ka));
  EXPECT_TRUE(core::link_points_here(ctx, "m", "1.0", ka));
  EXPECT_FALSE(core::is_installed(ctx, "m", "2.0", ka));
  EXPECT_FALSE(core::link_points_here(ctx, "m", "2.0", ka));
  EXPECT_FALSE(core::is_installed(ctx, "m", "1.0", {"6.1.0", "i686"}));
}

TEST_F(TreeTest, AbsoluteKernelLinkAlsoCounts) {
  KernelArch ka{"6.1.0", "x86_64"};
  build("m", "1.0", "6.1.0", "x86_64");
  make_symlink(dt() + "/m/1.0/6.1.0/x86_64", dt() + "/m/kernel-6.1.0-x86_64");
  EXPECT_TRUE(core::is_installed(ctx, "m", "1.0", ka));
}

TEST_F(TreeTest, KernelLinkMustBeASymlink) {
  KernelArch ka{"6.1.0", "x86_64"};
  build("m", "1.0", "6.1.0", "x86_64");
  make_dir(dt() + "/m/kernel-6.1.0-x86_64");
  EXPECT_FALSE(core::is_installed(ctx, "m", "1.0", ka));
}

TEST_F(TreeTest, LinkWithoutBuildIsNotInstalled) {
  KernelArch ka{"6.1.0", "x86_64"};
  make_dir(dt() + "/m/1.0/6.1.0/x86_64"); // BASE without module/
  install("m", "1.0", "6.1.0", "x86_64");
  EXPECT_TRUE(core::link_points_here(ctx, "m", "1.0", ka));
  EXPECT_FALSE(core::is_installed(ctx, "m", "1.0", ka));
}

TEST_F(TreeTest, LinkTestResolvesLikeReadlinkF) {
  // kernel-K-A -> 1.0/6.1.0/x86_64 with 6.1.0/ present but x86_64/ gone:
  // readlink -f still yields DT/m/1.0/6.1.0/x86_64, so upstream's
  // _is_module_installed (used by autoinstall) says yes.
  make_dir(dt() + "/m/1.0/6.1.0");
  install("m", "1.0", "6.1.0", "x86_64");
  EXPECT_TRUE(core::link_points_here(ctx, "m", "1.0", {"6.1.0", "x86_64"}));
}

TEST_F(TreeTest, SymlinkedDkmsTreeNeverShowsInstalled) {
  // SPEC §5.2: the resolved link is compared with DT as configured.
  KernelArch ka{"6.1.0", "x86_64"};
  build("m", "1.0", "6.1.0", "x86_64");
  install("m", "1.0", "6.1.0", "x86_64");
  make_symlink(dt(), t.root / "dt-link");
  t.ctx.settings.dkms_tree = t.root / "dt-link";
  EXPECT_TRUE(core::is_built(ctx, "m", "1.0", ka));
  EXPECT_FALSE(core::is_installed(ctx, "m", "1.0", ka));
}

// ---- enumeration ----------------------------------------------------------

TEST_F(TreeTest, PairsAreSortedAsWholePaths) {
  for (const char* mv : {"a/2", "a/10", "a-b/1", "b/1.0"}) {
    make_dir(dt() + "/" + mv);
  }
  // Bytewise on "m/v": '-' < '/' puts a-b before a, and "10" before "2".
  EXPECT_EQ(describe(core::list_module_versions(ctx, "", "")),
            "a-b/1\na/10\na/2\nb/1.0\n");
}

TEST_F(TreeTest, ListingSkipsKernelLinksFilesAndHiddenEntries) {
  build("m", "1.0", "6.1.0", "x86_64");
  install("m", "1.0", "6.1.0", "x86_64");
  write_text(dt() + "/post_transaction.log", "");
  write_text(dt() + "/m/notes", "");
  make_dir(dt() + "/.hidden/1.0");
  make_dir(dt() + "/m/.2.0");
  make_dir(t.root / "v3");
  make_symlink(t.root / "v3", dt() + "/m/3.0"); // symlinks to directories count
  make_dir(dt() + "/m/original_module/6.1.0/x86_64");
  EXPECT_EQ(describe(core::list_module_versions(ctx, "", "")),
            "m/1.0\nm/3.0\nm/original_module\n");
}

TEST_F(TreeTest, ListingFiltersAreGlobs) {
  for (const char* mv : {"dkms_test/1.0", "dkms-foo/2", "mydkms/1", "dkms_test/2.0"}) {
    make_dir(dt() + "/" + mv);
  }
  EXPECT_EQ(describe(core::list_module_versions(ctx, "dkms*", "")),
            "dkms-foo/2\ndkms_test/1.0\ndkms_test/2.0\n");
  EXPECT_EQ(describe(core::list_module_versions(ctx, "dkms_test", "2.0")),
            "dkms_test/2.0\n");
  EXPECT_EQ(describe(core::list_module_versions(ctx, "*", "1*")),
            "dkms_test/1.0\nmydkms/1\n");
  EXPECT_EQ(describe(core::list_module_versions(ctx, "nosuch", "")), "");
}

TEST_F(TreeTest, KernelDirectoriesMustStartWithDigitsAndDot) {
  add("m", "1.0");
  // Each of these has a module/ directory, but only real kernel names count.
  for (const char* k : {"6.1.0-56-amd64", "10.0", "6.", "build", "source", "tarball", "6",
                        "v6.1", ".tmp_x"}) {
    build("m", "1.0", k, "x86_64");
  }
  build("m", "1.0", "6.1.0-56-amd64", ".tmp_x86_64_abc123"); // hidden arch entry
  EXPECT_EQ(describe(core::built_entries(ctx, "m", "1.0", "", "")),
            "built m/1.0/10.0/x86_64\n"
            "built m/1.0/6./x86_64\n"
            "built m/1.0/6.1.0-56-amd64/x86_64\n");
}

TEST_F(TreeTest, BuiltEntriesSortAsWholePathsAndSkipUnbuilt) {
  add("m", "1.0");
  build("m", "1.0", "6.1", "x86_64");
  build("m", "1.0", "6.1-x", "x86_64");
  build("m", "1.0", "6.1", "aarch64");
  make_dir(dt() + "/m/1.0/6.1/i686"); // no module/: not built
  install("m", "1.0", "6.1", "x86_64");
  // "6.1-x/..." sorts before "6.1/..." because '-' < '/'.
  EXPECT_EQ(describe(core::built_entries(ctx, "m", "1.0", "", "")),
            "built m/1.0/6.1-x/x86_64\n"
            "built m/1.0/6.1/aarch64\n"
            "installed m/1.0/6.1/x86_64\n");
}

TEST_F(TreeTest, StatusCoversAllStatesInOrder) {
  add("a", "1.0"); // added only
  add("b", "1.0"); // built + installed
  build("b", "1.0", "6.1.0", "x86_64");
  build("b", "1.0", "6.12.1", "x86_64");
  install("b", "1.0", "6.12.1", "x86_64");
  make_symlink(t.st() + "/c-1.0", dt() + "/c/1.0/source"); // broken
  build("d", "1.0", "6.1.0", "x86_64"); // no source link, no ST: invisible
  make_dir(dt() + "/b/original_module/6.1.0/x86_64");
  EXPECT_EQ(describe(core::module_status(ctx)), "added a/1.0\n"
                                                "built b/1.0/6.1.0/x86_64\n"
                                                "installed b/1.0/6.12.1/x86_64\n"
                                                "broken c/1.0\n");
}

TEST_F(TreeTest, StatusFiltersOnKernelAndArch) {
  add("m", "1.0");
  build("m", "1.0", "5.10.0", "x86_64");
  build("m", "1.0", "6.1.0-56-amd64", "x86_64");
  build("m", "1.0", "6.12.117", "x86_64");
  build("m", "1.0", "6.12.117", "i686");
  // "6.1*" is a glob, so it also takes 6.12.
  EXPECT_EQ(describe(core::module_status(ctx, "", "", "6.1*", "x86_64")),
            "built m/1.0/6.1.0-56-amd64/x86_64\n"
            "built m/1.0/6.12.117/x86_64\n");
  EXPECT_EQ(describe(core::module_status(ctx, "", "", "6.12.117", "")),
            "built m/1.0/6.12.117/i686\n"
            "built m/1.0/6.12.117/x86_64\n");
  // Nothing built for the filter: the pair shows as added.
  EXPECT_EQ(describe(core::module_status(ctx, "m", "1.0", "7.*", "")), "added m/1.0\n");
}

TEST_F(TreeTest, StatusModuleGlob) {
  add("dkms_test", "1.0");
  add("mydkms", "1.0");
  add("dkms-x", "2");
  EXPECT_EQ(describe(core::module_status(ctx, "dkms*")),
            "added dkms-x/2\nadded dkms_test/1.0\n");
}

} // namespace
