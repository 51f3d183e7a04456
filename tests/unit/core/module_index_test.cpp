#include "../test_support.hpp"
#include "core/module_index.hpp"
#include "util/fs.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <thread>

namespace {

using test_support::make_dir;
using test_support::make_symlink;
using test_support::write_text;

const std::string k_kernel = "6.1.0-index";
const std::vector<std::string> k_names = {"x.ko", "x.ko.xz", "deep.ko.zst"};

class ModuleIndexTest : public ::testing::Test {
protected:
  void SetUp() override { make_dir(t.dt()); }
  std::string kdir() const { return t.it() + "/" + k_kernel; }
  void add(const std::string& rel) { write_text(kdir() + "/" + rel, ""); }
  // The walker that mirrors find -type f is the oracle for the index.
  void expect_same_files(const std::string& when) {
    as_a_new_process();
    EXPECT_EQ(core::indexed_files_named(t.ctx, k_kernel, k_names),
              util::find_files_named(kdir(), k_names))
        << when;
  }
  std::string suffix(core::SuffixCheck check) {
    as_a_new_process();
    return core::indexed_compression_suffix(t.ctx, k_kernel, check);
  }
  // Each question comes from a new dkms run (reading the record) unless a
  // test asks for one run that asks again.
  void as_a_new_process() {
    if (!m_one_run) {
      core::forget_checked_module_indexes();
    }
  }
  void TearDown() override { core::forget_checked_module_indexes(); }

  bool m_one_run = false;
  // Stamps are recorded only for directories unchanged for a second.
  static void let_stamps_settle() {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  }

  test_support::TestContext t;
};

TEST_F(ModuleIndexTest, FilesNamedAsFindFindsThem) {
  add("kernel/a/x.ko");
  add("kernel/a/x.ko.xz");
  add("kernel/b/c/x.ko");
  add("kernel/b/other.ko");
  add("updates/dkms/x.ko");
  make_dir(kdir() + "/extra/x.ko"); // a directory, not a file
  make_symlink(kdir() + "/kernel/a/x.ko", kdir() + "/extra/link/x.ko.xz");
  make_symlink(t.root / "headers", kdir() + "/build");
  write_text(t.root / "headers/x.ko", "");
  expect_same_files("first walk");
  ASSERT_TRUE(util::is_regular(core::module_index_path(t.ctx, k_kernel)));
  expect_same_files("from the stored index");
  EXPECT_EQ(core::indexed_files_named(t.ctx, k_kernel, k_names).size(), 4u);
}

TEST_F(ModuleIndexTest, EveryDirectoryCheckFollowsChanges) {
  add("kernel/drivers/net/a.ko.xz");
  add("kernel/drivers/net/x.ko");
  add("updates/dkms/x.ko.xz");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  expect_same_files("settled");

  add("kernel/drivers/net/deep.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".zst");
  expect_same_files("a file added deep down");

  util::remove_all(kdir() + "/kernel/drivers/net");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  expect_same_files("a directory removed");

  util::remove_all(kdir() + "/updates/dkms");
  make_symlink(kdir() + "/kernel", kdir() + "/updates/dkms");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), "");
  expect_same_files("a directory replaced by a symlink");
}

TEST_F(ModuleIndexTest, OneRunAskingAgainSeesChangesMadeMeanwhile) {
  // What one run learnt is checked again, not trusted: install asks once
  // before make runs and again after.
  m_one_run = true;
  add("kernel/drivers/net/a.ko.xz");
  add("updates/dkms/x.ko.xz");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  expect_same_files("settled");
  add("kernel/drivers/net/x.ko");
  expect_same_files("a same-named module added deep down");
  util::remove_file(kdir() + "/updates/dkms/x.ko.xz");
  expect_same_files("one removed at the top");
  // Within the same second as the last look, too.
  add("kernel/drivers/net/x.ko.xz");
  expect_same_files("added again at once");
  util::remove_all(kdir() + "/kernel/drivers");
  expect_same_files("a directory removed");
}

TEST_F(ModuleIndexTest, ACheckAheadAnswersTheNextQuestionOnly) {
  // install starts a check while strip and signing run, then asks: the
  // answer is as of the check, and only the next question takes it.
  m_one_run = true;
  add("kernel/drivers/net/a.ko.xz");
  add("updates/dkms/x.ko.xz");
  core::check_module_index_ahead(t.ctx, k_kernel);
  core::wait_for_module_index_checks();
  add("kernel/drivers/net/x.ko");
  const std::vector<std::string> as_checked = {kdir() + "/updates/dkms/x.ko.xz"};
  EXPECT_EQ(core::indexed_files_named(t.ctx, k_kernel, k_names), as_checked);
  expect_same_files("the question after checks again");

  // A script ran since the check started: its answer is dropped.
  core::check_module_index_ahead(t.ctx, k_kernel);
  add("kernel/x.ko.xz");
  core::discard_module_index_ahead(t.ctx, k_kernel);
  expect_same_files("discarded");
  // So is one the unit did not use.
  core::check_module_index_ahead(t.ctx, k_kernel);
  core::wait_for_module_index_checks();
  util::remove_file(kdir() + "/kernel/x.ko.xz");
  core::drop_unused_module_index_checks();
  expect_same_files("dropped");

  // The suffix question takes it the same way.
  add("kernel/z.ko.zst");
  core::check_module_index_ahead(t.ctx, k_kernel);
  core::wait_for_module_index_checks();
  util::remove_file(kdir() + "/kernel/z.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".zst");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
}

TEST_F(ModuleIndexTest, ChangesWithinTheSecondAreReadAgain) {
  // No settling: every stamp is too recent to trust, so each look re-reads.
  add("kernel/drivers/net/a.ko.gz");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".gz");
  add("kernel/drivers/net/b.ko.xz");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  expect_same_files("same second");
}

TEST_F(ModuleIndexTest, TopLevelsTrustDeeperDirectories) {
  add("kernel/drivers/net/a.ko.xz");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  // Deeper than two levels: by design only a full check sees it.
  add("kernel/drivers/net/deep.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".xz");
  // Once the top changes (depmod writing modules.dep), all is checked.
  add("modules.dep");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".zst");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".zst");
  // At the top levels: seen at once.
  util::remove_file(kdir() + "/kernel/drivers/net/deep.ko.zst");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  add("extra/z.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".zst");
}

TEST_F(ModuleIndexTest, TopLevelsCheckReadsOnPastTheFirstBlock) {
  // A top directory long enough that the record's top-level part does not
  // fit the first read of it.
  for (int i = 0; i < 3000; ++i) {
    add("kernel/a-module-with-a-longish-name-" + std::to_string(i) + ".ko.xz");
  }
  add("kernel/drivers/net/a.ko.xz");
  make_dir(kdir() + "/updates/dkms");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  auto record = util::read_file(core::module_index_path(t.ctx, k_kernel));
  ASSERT_TRUE(record);
  ASSERT_GT(record->size(), 64u * 1024);
  add("kernel/drivers/net/deep.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".xz");
  // updates/dkms is listed after kernel/'s 3000 entries.
  add("updates/dkms/z.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".zst");
}

TEST_F(ModuleIndexTest, DamagedRecordIsRebuilt) {
  add("kernel/a.ko.xz");
  add("kernel/x.ko");
  for (const char* junk :
       {"", "dkms-module-index 1\n", "garbage\n", "dkms-module-index 1\nx"}) {
    write_text(core::module_index_path(t.ctx, k_kernel), junk);
    EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz") << junk;
    write_text(core::module_index_path(t.ctx, k_kernel), junk);
    expect_same_files(junk);
  }
}

TEST_F(ModuleIndexTest, NoDkmsTreeNoRecord) {
  util::remove_all(t.dt());
  add("kernel/a.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".zst");
  EXPECT_FALSE(util::lexists(core::module_index_path(t.ctx, k_kernel)));
}

TEST_F(ModuleIndexTest, RecentRootIsReadAgainByTheTopLevelsCheck) {
  add("kernel/drivers/net/a.ko.xz");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  // Only IT/K changes (as when depmod writes modules.dep): it is stored
  // without a stamp, its subdirectories keep theirs.
  add("modules.dep");
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  auto record = util::read_file(core::module_index_path(t.ctx, k_kernel));
  ASSERT_TRUE(record);
  EXPECT_NE(record->find("\nD\t\t\n"), std::string::npos)
      << "root stored without a stamp";
  add("extra/z.ko.zst");
  EXPECT_EQ(suffix(core::SuffixCheck::top_levels), ".zst");
}

TEST_F(ModuleIndexTest, ADirectoryAddedBelowAKnownOneIsIndexed) {
  // The check updates a known index in place while no directory came or
  // went; a new one (its parent's entries change) makes it rebuild.
  add("kernel/a/x.ko.xz");
  let_stamps_settle();
  expect_same_files("settled");
  add("kernel/a/new/deeper/x.ko");
  expect_same_files("a new directory, from the record");
  m_one_run = true;
  expect_same_files("known to this run");
  add("kernel/a/other/x.ko");
  expect_same_files("a new directory, known to this run");
  util::remove_all(kdir() + "/kernel/a/new");
  add("kernel/a/x.ko");
  expect_same_files("one directory gone, a file added next to it");
}

TEST_F(ModuleIndexTest, RecordIsWrittenAgainOnlyWhenSomethingChanged) {
  const std::string record = core::module_index_path(t.ctx, k_kernel);
  auto inode = [&] {
    struct stat st {};
    EXPECT_EQ(stat(record.c_str(), &st), 0);
    return st.st_ino; // a new record is renamed into place
  };
  add("kernel/drivers/net/a.ko.xz");
  add("updates/dkms/x.ko.xz");
  let_stamps_settle();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  const ino_t first = inode();
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  expect_same_files("unchanged");
  EXPECT_EQ(inode(), first) << "nothing changed, nothing written";

  add("kernel/drivers/net/b.ko.xz");
  let_stamps_settle();
  expect_same_files("a file added deep down");
  const ino_t second = inode();
  EXPECT_NE(second, first) << "the new stamp is stored";
  EXPECT_EQ(suffix(core::SuffixCheck::every_directory), ".xz");
  EXPECT_EQ(inode(), second) << "and proves the record current next time";

  // A directory changed within the second is stored without a stamp and
  // read again by each check; found as stored, the record stays.
  const auto start = std::chrono::steady_clock::now();
  add("kernel/drivers/net/c.ko.xz");
  expect_same_files("a file added, too recent to stamp");
  const ino_t third = inode();
  EXPECT_NE(third, second);
  expect_same_files("read again within the second");
  if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(800)) {
    EXPECT_EQ(inode(), third) << "the same entries, still too recent: not written";
  }
}

} // namespace
