#include "../test_support.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

using test_support::make_dir;
using test_support::make_symlink;
using test_support::read_text;
using test_support::TempDir;
using test_support::write_text;
using Strings = std::vector<std::string>;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class FsTest : public ::testing::Test {
protected:
  TempDir d;
};

TEST_F(FsTest, TypePredicatesFollowLinksExceptLexistsAndIsSymlink) {
  write_text(d / "file", "x");
  make_dir(d / "dir");
  make_symlink(d / "file", d / "lfile");
  make_symlink(d / "dir", d / "ldir");
  make_symlink(d / "missing", d / "dangling");

  struct Row {
    const char* name;
    bool exists, lexists, dir, regular, symlink;
  };
  for (const Row& r : {Row{"file", true, true, false, true, false},
                       Row{"dir", true, true, true, false, false},
                       Row{"lfile", true, true, false, true, true},
                       Row{"ldir", true, true, true, false, true},
                       Row{"dangling", false, true, false, false, true},
                       Row{"none", false, false, false, false, false}}) {
    std::string p = d / r.name;
    EXPECT_EQ(util::exists(p), r.exists) << r.name;
    EXPECT_EQ(util::lexists(p), r.lexists) << r.name;
    EXPECT_EQ(util::is_dir(p), r.dir) << r.name;
    EXPECT_EQ(util::is_regular(p), r.regular) << r.name;
    EXPECT_EQ(util::is_symlink(p), r.symlink) << r.name;
  }
}

TEST_F(FsTest, ExecutableFileNeedsRegularFileWithExecBit) {
  write_text(d / "exe", "#!/bin/sh\n", 0755);
  write_text(d / "data", "", 0644);
  make_dir(d / "dir");
  make_symlink(d / "exe", d / "lexe");
  EXPECT_TRUE(util::is_executable_file(d / "exe"));
  EXPECT_TRUE(util::is_executable_file(d / "lexe"));
  EXPECT_FALSE(util::is_executable_file(d / "data"));
  EXPECT_FALSE(util::is_executable_file(d / "dir"));
  EXPECT_FALSE(util::is_executable_file(d / "none"));
}

TEST_F(FsTest, ReadLinkAndRealPath) {
  make_dir(d / "a/b");
  make_symlink("a/b", d / "rel");
  make_symlink(d / "rel", d / "chain");
  EXPECT_EQ(util::read_link(d / "rel"), "a/b");
  EXPECT_EQ(util::read_link(d / "a"), std::nullopt);
  EXPECT_EQ(util::real_path(d / "chain"), d / "a/b");
  EXPECT_EQ(util::real_path(d / "a/b/../b/."), d / "a/b");
  EXPECT_EQ(util::real_path(d / "a/missing"), std::nullopt);
}

TEST_F(FsTest, WriteAtomicRoundTripsAndSetsMode) {
  const std::string data = std::string("bin\0ary\n", 8) + std::string(100000, 'z');
  ASSERT_TRUE(util::write_file_atomic(d / "f", data, 0600));
  EXPECT_EQ(util::read_file(d / "f"), data);
  EXPECT_EQ(mode_of(d / "f"), 0600u);
  ASSERT_TRUE(util::write_file_atomic(d / "f", "short"));
  EXPECT_EQ(util::read_file(d / "f"), "short");
  EXPECT_EQ(mode_of(d / "f"), 0644u);
  // No temporary file is left next to it.
  EXPECT_EQ(util::list_dir(d.path()), Strings{"f"});
  EXPECT_FALSE(util::write_file_atomic(d / "nodir/f", "x"));
  EXPECT_EQ(util::read_file(d / "nodir/f"), std::nullopt);
}

TEST_F(FsTest, ReadFileReadsWhatTheSizeDoesNotTell) {
  write_text(d / "empty", "");
  EXPECT_EQ(util::read_file(d / "empty"), "");
  // A FIFO has no size: everything written into it is read, in whatever
  // chunks it arrives.
  ASSERT_EQ(mkfifo((d / "fifo").c_str(), 0600), 0);
  std::string data;
  for (int i = 0; i < 20000; ++i) {
    data += static_cast<char>('a' + i % 26);
  }
  std::thread writer([&] {
    int fd = open((d / "fifo").c_str(), O_WRONLY | O_CLOEXEC);
    for (size_t off = 0; fd >= 0 && off < data.size(); off += 3000) {
      ASSERT_GT(write(fd, data.data() + off, std::min<size_t>(3000, data.size() - off)),
                0);
    }
    close(fd);
  });
  auto read = util::read_file(d / "fifo");
  writer.join();
  EXPECT_EQ(read, data);
}

TEST_F(FsTest, FilesEqual) {
  write_text(d / "a", "same");
  write_text(d / "b", "same");
  write_text(d / "c", "diff");
  EXPECT_TRUE(util::files_equal(d / "a", d / "b"));
  EXPECT_FALSE(util::files_equal(d / "a", d / "c"));
  EXPECT_FALSE(util::files_equal(d / "a", d / "missing"));
  EXPECT_FALSE(util::files_equal(d / "missing", d / "missing2"));
}

TEST_F(FsTest, ListDirIsSortedBytewiseWithHiddenEntries) {
  for (const char* n : {"b", "a-b", "a", ".h", "B", "10", "2"}) {
    write_text(d / n, "");
  }
  EXPECT_EQ(util::list_dir(d.path()), (Strings{".h", "10", "2", "B", "a", "a-b", "b"}));
  EXPECT_EQ(util::list_dir(d / "missing"), Strings{});
}

TEST_F(FsTest, MkdirP) {
  EXPECT_TRUE(util::mkdir_p(d / "x/y/z"));
  EXPECT_TRUE(util::is_dir(d / "x/y/z"));
  EXPECT_TRUE(util::mkdir_p(d / "x/y/z")); // already there
  write_text(d / "file", "");
  EXPECT_FALSE(util::mkdir_p(d / "file/sub"));
  EXPECT_FALSE(util::mkdir_p(d / "file"));
  EXPECT_FALSE(util::mkdir_p(""));
}

TEST_F(FsTest, RemoveAllDoesNotFollowSymlinks) {
  write_text(d / "outside/keep", "precious");
  write_text(d / "tree/a/b/c", "");
  make_dir(d / "tree/.hidden");
  make_symlink(d / "outside", d / "tree/a/link");
  EXPECT_TRUE(util::remove_all(d / "tree"));
  EXPECT_FALSE(util::lexists(d / "tree"));
  EXPECT_EQ(read_text(d / "outside/keep"), "precious");
  EXPECT_TRUE(util::remove_all(d / "tree")); // gone already is fine
  make_symlink(d / "outside", d / "toplink");
  EXPECT_TRUE(util::remove_all(d / "toplink"));
  EXPECT_TRUE(util::exists(d / "outside/keep"));
}

TEST_F(FsTest, RemoveFileAndEmptyDir) {
  write_text(d / "f", "");
  EXPECT_TRUE(util::remove_file(d / "f"));
  EXPECT_FALSE(util::lexists(d / "f"));
  EXPECT_TRUE(util::remove_file(d / "f"));
  write_text(d / "full/x", "");
  make_dir(d / "empty");
  EXPECT_FALSE(util::remove_empty_dir(d / "full"));
  EXPECT_TRUE(util::is_dir(d / "full"));
  EXPECT_TRUE(util::remove_empty_dir(d / "empty"));
  EXPECT_FALSE(util::lexists(d / "empty"));
}

TEST_F(FsTest, CopyTreeMergesAndPreservesModesTimesAndLinks) {
  write_text(d / "src/dkms.conf", "PACKAGE_NAME=x\n");
  write_text(d / "src/scripts/run.sh", "#!/bin/sh\n", 0750);
  write_text(d / "src/.hidden", "h");
  make_symlink("scripts/run.sh", d / "src/link");
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (d / "src/dkms.conf").c_str(), times, 0), 0);
  write_text(d / "dst/existing", "stays");

  std::string error;
  ASSERT_TRUE(util::copy_tree(d / "src", d / "dst", &error)) << error;
  EXPECT_EQ(read_text(d / "dst/dkms.conf"), "PACKAGE_NAME=x\n");
  EXPECT_EQ(read_text(d / "dst/.hidden"), "h");
  EXPECT_EQ(read_text(d / "dst/existing"), "stays");
  EXPECT_EQ(mode_of(d / "dst/scripts/run.sh"), 0750u);
  EXPECT_EQ(util::read_link(d / "dst/link"), "scripts/run.sh");
  struct stat st {};
  ASSERT_EQ(stat((d / "dst/dkms.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);

  // Copying again over the result works (links are replaced, files overwritten).
  write_text(d / "src/dkms.conf", "PACKAGE_NAME=y\n");
  ASSERT_TRUE(util::copy_tree(d / "src", d / "dst", &error)) << error;
  EXPECT_EQ(read_text(d / "dst/dkms.conf"), "PACKAGE_NAME=y\n");
}

TEST_F(FsTest, CopyFile) {
  write_text(d / "a", "content", 0640);
  struct timespec times[2] = {{1200000000, 0}, {1200000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (d / "a").c_str(), times, 0), 0);
  std::string error;
  ASSERT_TRUE(util::copy_file(d / "a", d / "b", &error)) << error;
  EXPECT_EQ(read_text(d / "b"), "content");
  EXPECT_EQ(mode_of(d / "b"), 0640u);
  struct stat st {};
  ASSERT_EQ(stat((d / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);

  EXPECT_FALSE(util::copy_file(d / "missing", d / "c", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(util::lexists(d / "c"));
}

TEST_F(FsTest, MakeTempDir) {
  auto p = util::make_temp_dir(d.path(), "dkms.");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(util::is_dir(*p));
  EXPECT_EQ(util::dirname(*p), d.path());
  EXPECT_EQ(util::basename(*p).substr(0, 5), "dkms.");
  EXPECT_EQ(util::basename(*p).size(), 11u);
  auto q = util::make_temp_dir(d.path(), "dkms.");
  ASSERT_TRUE(q.has_value());
  EXPECT_NE(*p, *q);
  EXPECT_EQ(util::make_temp_dir(d / "missing", "x"), std::nullopt);
}

TEST(ChangedTooRecently, IsTheLastSecond) {
  auto now_ns = [] {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
  };
  EXPECT_TRUE(util::changed_too_recently(now_ns()));
  EXPECT_TRUE(util::changed_too_recently(now_ns() - 500000000LL));
  EXPECT_FALSE(util::changed_too_recently(now_ns() - 1100000000LL));
  EXPECT_TRUE(util::changed_too_recently(now_ns() + 5000000000LL)); // clock set back
}

TEST(PathParts, DirnameAndBasename) {
  EXPECT_EQ(util::dirname("/a/b/c.ko"), "/a/b");
  EXPECT_EQ(util::basename("/a/b/c.ko"), "c.ko");
  EXPECT_EQ(util::dirname("/a"), "/");
  EXPECT_EQ(util::basename("/a"), "a");
  EXPECT_EQ(util::dirname("name"), ".");
  EXPECT_EQ(util::basename("name"), "name");
  EXPECT_EQ(util::dirname("rel/x"), "rel");
}

TEST_F(FsTest, FindFilesByNameAndSuffix) {
  write_text(d / "t/a/dkms.conf", "");
  write_text(d / "t/b/c/dkms.conf", "");
  write_text(d / "t/b/Makefile", "");
  write_text(d / "t/x.ko", "");
  write_text(d / "t/b/y.ko", "");
  write_text(d / "t/b/y.ko.xz", "");
  make_dir(d / "t/z.ko"); // a directory is not a file
  write_text(d / "out/w.ko", "");
  make_symlink(d / "out", d / "t/linked");  // symlinked dirs are not entered
  make_symlink(d / "t/x.ko", d / "t/l.ko"); // symlinks are not files
  EXPECT_EQ(util::find_files_named(d / "t", {"dkms.conf", "Makefile"}),
            (Strings{d / "t/a/dkms.conf", d / "t/b/Makefile", d / "t/b/c/dkms.conf"}));
  EXPECT_EQ(util::find_files_with_suffix(d / "t", ".ko"),
            (Strings{d / "t/b/y.ko", d / "t/x.ko"}));
  EXPECT_EQ(util::find_files_with_suffix(d / "missing", ".ko"), Strings{});
}

} // namespace
