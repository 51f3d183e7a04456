#include "../test_support.hpp"
#include "core/archive.hpp"
#include "util/fs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using test_support::make_dir;
using test_support::make_symlink;
using test_support::read_text;
using test_support::TempDir;
using test_support::write_text;

// One member of a hand-made archive; libarchive's writer stores whatever
// name, type and link we give it, which is how hostile archives are made.
struct Member {
  std::string name;
  unsigned type = AE_IFREG;
  std::string data;
  std::string symlink;
  std::string hardlink;
  unsigned mode = 0644;
  long long size = -1; // declared size; -1: data.size()
};

Member file(const std::string& name, const std::string& data = "x",
            unsigned mode = 0644) {
  Member m;
  m.name = name;
  m.data = data;
  m.mode = mode;
  return m;
}
Member dir(const std::string& name, unsigned mode = 0755) {
  Member m = file(name, {}, mode);
  m.type = AE_IFDIR;
  return m;
}
Member sym(const std::string& name, const std::string& target) {
  Member m = file(name, {}, 0777);
  m.type = AE_IFLNK;
  m.symlink = target;
  return m;
}
Member hard(const std::string& name, const std::string& target) {
  Member m = file(name, {});
  m.hardlink = target;
  return m;
}
Member node(const std::string& name, unsigned type) {
  Member m = file(name, {}, 0666);
  m.type = type;
  return m;
}

std::string make_tar(const std::vector<Member>& members, bool gzip = false) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) {
    archive_write_add_filter_gzip(a);
  }
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, m.mode);
    if (!m.symlink.empty()) {
      archive_entry_set_symlink(e, m.symlink.c_str());
    }
    if (!m.hardlink.empty()) {
      archive_entry_set_hardlink(e, m.hardlink.c_str());
    }
    bool has_data = m.type == AE_IFREG && m.hardlink.empty();
    archive_entry_set_size(e, has_data ? (m.size >= 0 ? m.size : m.data.size()) : 0);
    EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
    if (has_data && !m.data.empty()) {
      archive_write_data(a, m.data.data(), m.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// Every path below dir, relative, sorted (the listing compared before and
// after a refused extraction).
std::vector<std::string> listing(const std::string& dir, const std::string& rel = {}) {
  std::vector<std::string> out;
  for (const auto& name : util::list_dir(rel.empty() ? dir : dir + "/" + rel)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    out.push_back(child);
    struct stat st;
    if (lstat((dir + "/" + child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      auto sub = listing(dir, child);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  }
  return out;
}

class ArchiveTest : public ::testing::Test {
protected:
  void SetUp() override {
    make_dir(d / "outside");
    make_dir(d / "outside/dest");
    dest = d / "outside/dest";
  }
  std::optional<core::ExtractError> extract(const std::string& tar,
                                            const core::ExtractLimits& limits = {}) {
    return core::extract_archive_memory(tar.data(), tar.size(), dest, limits);
  }
  // The archive is refused naming entry, and nothing is written next to
  // the extraction directory.
  void expect_refused(const std::vector<Member>& members, const std::string& entry,
                      const std::string& reason_part,
                      const core::ExtractLimits& limits = {}) {
    auto err = extract(make_tar(members), limits);
    ASSERT_TRUE(err.has_value()) << "accepted: " << entry;
    EXPECT_EQ(err->entry, entry);
    EXPECT_NE(err->reason.find(reason_part), std::string::npos) << err->reason;
    EXPECT_EQ(util::list_dir(d / "outside"), std::vector<std::string>{"dest"});
    EXPECT_EQ(util::list_dir(d.path()), std::vector<std::string>{"outside"});
  }
  TempDir d;
  std::string dest;
};

TEST(TarFilter, FollowsTarAutoCompressSuffixes) {
  using core::TarFilter;
  EXPECT_EQ(core::tar_filter_for_name("m-1.0-kernelK-x86_64.dkms.tar.gz"),
            TarFilter::gzip);
  EXPECT_EQ(core::tar_filter_for_name("x.tgz"), TarFilter::gzip);
  EXPECT_EQ(core::tar_filter_for_name("x.tar"), TarFilter::none);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.xz"), TarFilter::xz);
  EXPECT_EQ(core::tar_filter_for_name("x.txz"), TarFilter::xz);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.zst"), TarFilter::zstd);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.bz2"), TarFilter::bzip2);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.lzma"), TarFilter::lzma);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.lz"), TarFilter::lzip);
  EXPECT_EQ(core::tar_filter_for_name("x.tar.Z"), TarFilter::compress);
  EXPECT_EQ(core::tar_filter_for_name("x.dkms"), TarFilter::none);
}

TEST(MemberName, NormalisesAndRejects) {
  EXPECT_EQ(core::normalise_member_name("./a//b/./c"), "a/b/c");
  EXPECT_EQ(core::normalise_member_name("./"), "");
  EXPECT_FALSE(core::normalise_member_name("/etc/passwd"));
  EXPECT_FALSE(core::normalise_member_name("a/../b"));
  EXPECT_FALSE(core::normalise_member_name(".."));
  EXPECT_EQ(core::normalise_member_name("a/..b"), "a/..b");
}

TEST_F(ArchiveTest, WrittenTarballRoundTripsForEverySuffix) {
  make_dir(d / "src");
  write_text(d / "src/dkms.conf", "PACKAGE_NAME=x\n");
  make_dir(d / "src/sub");
  write_text(d / "src/sub/file.c", "int x;\n");
  chmod((d / "src/sub/file.c").c_str(), 0755);
  make_symlink("file.c", d / "src/sub/link.c");
  ASSERT_EQ(link((d / "src/sub/file.c").c_str(), (d / "src/sub/hard.c").c_str()), 0);
  for (const std::string suffix :
       {".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar.bz2"}) {
    std::string tarball = d / ("t" + suffix);
    std::vector<core::TarMember> members = {
        {".", {}, {}, true, 0700},
        {"./dkms_binaries_only", {}, {}, true, 0755},
        {"./dkms_binaries_only/PACKAGE_NAME", {}, "x\n", false, 0644},
        {"./dkms_source_tree", d / "src", {}, false, 0},
    };
    ASSERT_EQ(core::write_tarball(tarball, members), std::nullopt) << suffix;
    auto data = util::read_file(tarball);
    ASSERT_TRUE(data);
    // The compression really is the one the suffix names (magic bytes).
    if (suffix == ".tar.gz" || suffix == ".tgz") {
      EXPECT_EQ(data->substr(0, 2), "\x1f\x8b");
    } else if (suffix == ".tar.xz") {
      EXPECT_EQ(data->substr(0, 5), "\xfd"
                                    "7zXZ");
    } else if (suffix == ".tar.zst") {
      EXPECT_EQ(data->substr(0, 4), "\x28\xb5\x2f\xfd");
    } else if (suffix == ".tar.bz2") {
      EXPECT_EQ(data->substr(0, 3), "BZh");
    } else {
      EXPECT_EQ(data->substr(257, 5), "ustar");
    }
    util::remove_all(dest);
    make_dir(dest);
    ASSERT_EQ(core::extract_archive(tarball, dest), std::nullopt) << suffix;
    EXPECT_EQ(read_text(dest + "/dkms_binaries_only/PACKAGE_NAME"), "x\n");
    EXPECT_EQ(read_text(dest + "/dkms_source_tree/dkms.conf"), "PACKAGE_NAME=x\n");
    EXPECT_EQ(read_text(dest + "/dkms_source_tree/sub/hard.c"), "int x;\n");
    EXPECT_EQ(util::read_link(dest + "/dkms_source_tree/sub/link.c"), "file.c");
    struct stat st;
    ASSERT_EQ(stat((dest + "/dkms_source_tree/sub/file.c").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
  }
  // No temporary file is left next to the tarballs.
  for (const auto& name : util::list_dir(d.path())) {
    EXPECT_NE(name[0], '.') << name;
  }
}

TEST_F(ArchiveTest, AcceptsOrdinaryTreeWithInTreeLinks) {
  auto err = extract(make_tar({
      dir("./", 0700),
      dir("./pkg/", 02755),
      file("./pkg/dkms.conf", "PACKAGE_NAME=p\n"),
      sym("./pkg/inc", "../pkg/include"),
      dir("./pkg/include/", 0755),
      file("./pkg/include/a.h", "a"),
      hard("./pkg/b.h", "pkg/include/a.h"),
  }));
  ASSERT_EQ(err, std::nullopt) << err->entry << ": " << err->reason;
  EXPECT_EQ(read_text(dest + "/pkg/b.h"), "a");
  EXPECT_EQ(read_text(dest + "/pkg/inc/a.h"), "a");
  // The extraction directory keeps its own mode; the setgid bit of a
  // directory is dropped.
  struct stat st;
  ASSERT_EQ(stat((dest + "/pkg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u);
}

TEST_F(ArchiveTest, RefusesDotDotComponents) {
  expect_refused({file("ok", "x"), file("a/../../escape", "x")}, "a/../../escape",
                 "'..'");
}

TEST_F(ArchiveTest, RefusesAbsolutePaths) {
  expect_refused({file(d / "outside/abs")}, d / "outside/abs", "absolute");
}

TEST_F(ArchiveTest, RefusesSymlinkToAbsolutePath) {
  expect_refused({sym("etc", "/etc")}, "etc", "absolute path /etc");
}

TEST_F(ArchiveTest, RefusesSymlinkLeadingOutside) {
  expect_refused({dir("a/", 0755), sym("a/up", "../..")}, "a/up", "outside");
}

TEST_F(ArchiveTest, RefusesWritingThroughSymlink) {
  expect_refused({dir("dir/", 0755), sym("l", "dir"), file("l/x", "x")}, "l/x",
                 "through the symbolic link l");
}

TEST_F(ArchiveTest, RefusesHardLinkOutsideOrToUnknownFile) {
  expect_refused({hard("h", "../../etc/passwd")}, "h", "outside");
  expect_refused({hard("h", "/etc/passwd")}, "h", "outside");
  expect_refused({hard("h", "later"), file("later", "x")}, "h",
                 "not a regular file earlier");
}

TEST_F(ArchiveTest, RefusesDevicesFifosAndSetuid) {
  expect_refused({node("null", AE_IFCHR)}, "null", "device node");
  expect_refused({node("blk", AE_IFBLK)}, "blk", "device node");
  expect_refused({node("pipe", AE_IFIFO)}, "pipe", "FIFO");
  expect_refused({file("su", "x", 04755)}, "su", "setuid");
  expect_refused({file("sg", "x", 02755)}, "sg", "setgid");
}

TEST_F(ArchiveTest, RefusesDuplicateEntries) {
  expect_refused({file("f", "one"), file("f", "two")}, "f", "more than once");
}

TEST_F(ArchiveTest, RefusesTooManyEntriesOrBytes) {
  core::ExtractLimits limits;
  limits.max_entries = 3;
  expect_refused({file("a", "x"), file("b", "x"), file("c", "x"), file("d", "x")}, "d",
                 "limit of 3 entries", limits);
  limits = {};
  limits.max_bytes = 1000;
  expect_refused({file("a", std::string(600, 'a')), file("b", std::string(600, 'b'))},
                 "b", "exceed 1000 bytes", limits);
}

TEST_F(ArchiveTest, RefusesTruncatedAndCorruptArchives) {
  std::string tar = make_tar({file("big", std::string(100000, 'q'))}, true);
  std::string cut = tar.substr(0, tar.size() / 2);
  auto err = extract(cut);
  ASSERT_TRUE(err.has_value());
  EXPECT_FALSE(err->reason.empty());
  std::string garbage(4096, '\x5a');
  err = extract(garbage);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->entry, "");
  EXPECT_EQ(util::list_dir(d / "outside"), std::vector<std::string>{"dest"});
}

TEST_F(ArchiveTest, FindsSymlinksEscapingThroughOtherSymlinks) {
  make_dir(d / "root/a");
  make_symlink("..", d / "root/a/up");
  EXPECT_EQ(core::find_escaping_symlink(d / "root"), std::nullopt);
  // a/up resolves to root itself, so a/up/.. is root's parent.
  make_symlink("a/up/../outside", d / "root/sneaky");
  EXPECT_EQ(core::find_escaping_symlink(d / "root"), "sneaky");
  util::remove_file(d / "root/sneaky");
  make_symlink("/etc", d / "root/a/abs");
  EXPECT_EQ(core::find_escaping_symlink(d / "root"), "a/abs");
  util::remove_file(d / "root/a/abs");
  make_symlink("loop2", d / "root/loop1");
  make_symlink("loop1", d / "root/loop2");
  EXPECT_TRUE(core::find_escaping_symlink(d / "root").has_value());
  EXPECT_EQ(listing(d / "root").size(), 4u);
}

} // namespace
