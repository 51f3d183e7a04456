#include "../test_support.hpp"
#include "core/kernel.hpp"
#include "core/subprocess.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using test_support::make_dir;
using test_support::make_symlink;
using test_support::write_text;

class KernelTest : public ::testing::Test {
protected:
  std::string kdir(const std::string& rel = {}) const {
    return t.it() + "/6.1.0-56-amd64" + (rel.empty() ? "" : "/" + rel);
  }

  test_support::TestContext t;
};

// ---- KSRC / KCONF ---------------------------------------------------------

TEST_F(KernelTest, SourceDirDefaultsToBuildUnderInstallTree) {
  EXPECT_EQ(core::kernel_source_dir(t.ctx, "6.1.0-56-amd64"), kdir("build"));
  t.ctx.opts.kernel_source_dir = "/opt/ksrc";
  EXPECT_EQ(core::kernel_source_dir(t.ctx, "6.1.0-56-amd64"), "/opt/ksrc");
}

TEST_F(KernelTest, ConfigPrefersAutoConfThenDotConfig) {
  EXPECT_EQ(core::kernel_config(t.ctx, "6.1.0-56-amd64"), kdir("build/.config"));
  write_text(kdir("build/include/config/auto.conf"), "CONFIG_X=y\n");
  EXPECT_EQ(core::kernel_config(t.ctx, "6.1.0-56-amd64"),
            kdir("build/include/config/auto.conf"));
  t.ctx.opts.kernel_config = "/boot/config-x";
  EXPECT_EQ(core::kernel_config(t.ctx, "6.1.0-56-amd64"), "/boot/config-x");
}

TEST_F(KernelTest, ConfigFollowsKernelSourceDirOption) {
  std::string ksrc = t.root / "ksrc";
  t.ctx.opts.kernel_source_dir = ksrc;
  EXPECT_EQ(core::kernel_config(t.ctx, "6.1.0-56-amd64"), ksrc + "/.config");
  write_text(ksrc + "/include/config/auto.conf", "");
  EXPECT_EQ(core::kernel_config(t.ctx, "6.1.0-56-amd64"),
            ksrc + "/include/config/auto.conf");
}

TEST_F(KernelTest, HeadersPresentMeansKsrcInclude) {
  EXPECT_FALSE(core::kernel_headers_present(t.ctx, "6.1.0-56-amd64"));
  make_dir(kdir("build"));
  EXPECT_FALSE(core::kernel_headers_present(t.ctx, "6.1.0-56-amd64"));
  make_dir(kdir("build/include"));
  EXPECT_TRUE(core::kernel_headers_present(t.ctx, "6.1.0-56-amd64"));
}

// ---- compression suffix (SPEC §6.5) ---------------------------------------

// The suffix may be remembered per kernel for the whole run (the modules of
// a kernel do not change compression under us), so every question below is
// asked about a kernel directory that was fully prepared beforehand.
class SuffixTest : public ::testing::Test {
protected:
  // Creates IT/<k> holding the given files (relative paths), returns its suffix.
  std::string suffix_with(const std::vector<std::string>& files) {
    std::string k = "6.1.0-" + std::to_string(++m_kernels);
    make_dir(t.it() + "/" + k);
    for (const auto& f : files) {
      write_text(t.it() + "/" + k + "/" + f, "");
    }
    return core::module_compression_suffix(t.ctx, k);
  }
  std::string next_kernel_dir() const {
    return t.it() + "/6.1.0-" + std::to_string(m_kernels + 1);
  }

  test_support::TestContext t;

private:
  int m_kernels = 0;
};

TEST_F(SuffixTest, NoKernelDirOrNoCompressedModulesIsUncompressed) {
  EXPECT_EQ(core::module_compression_suffix(t.ctx, "9.9.9-missing"), "");
  EXPECT_EQ(suffix_with({}), "");
  EXPECT_EQ(suffix_with({"build/include/linux/x.h", "kernel/fs/ext4.ko", "modules.dep.gz",
                         "kernel/fs/readme.gz", "kernel/fs/old.ko.gz.bak"}),
            "");
}

TEST_F(SuffixTest, EachCompressionAloneIsFound) {
  EXPECT_EQ(suffix_with({"kernel/drivers/net/a.ko.gz"}), ".gz");
  EXPECT_EQ(suffix_with({"updates/dkms/b.ko.xz"}), ".xz");
  EXPECT_EQ(suffix_with({"c.ko.zst"}), ".zst");
}

TEST_F(SuffixTest, ZstBeatsXzBeatsGz) {
  EXPECT_EQ(suffix_with({"kernel/a.ko.gz", "kernel/b/c.ko.xz"}), ".xz");
  EXPECT_EQ(suffix_with({"kernel/a.ko.gz", "kernel/b/c.ko.xz", "extra/z.ko.zst"}),
            ".zst");
  EXPECT_EQ(suffix_with({"a/b/c/d.ko.zst", "e.ko.gz"}), ".zst");
  EXPECT_EQ(suffix_with({"x.ko.xz", "y.ko.zst"}), ".zst");
}

TEST_F(SuffixTest, HiddenDirectoriesAreSearched) {
  // find(1) walks dot-directories too.
  EXPECT_EQ(suffix_with({"kernel/x.ko", ".cache/y.ko.gz"}), ".gz");
}

TEST_F(SuffixTest, SymlinkedDirectoriesAreNotEntered) {
  // find(1) without -L does not enter build -> headers.
  std::string headers = t.root / "headers";
  write_text(headers + "/scripts/x.ko.xz", "");
  make_symlink(headers, next_kernel_dir() + "/build");
  EXPECT_EQ(suffix_with({"kernel/a.ko"}), "");
}

TEST_F(SuffixTest, AnyEntryNamedLikeACompressedModuleCounts) {
  // find -name '*.ko.xz' has no -type: a dangling symlink matches too.
  make_symlink("nowhere", next_kernel_dir() + "/kernel/a.ko.xz");
  EXPECT_EQ(suffix_with({}), ".xz");
}

TEST_F(SuffixTest, SuffixIsPerKernel) {
  // SPEC §6.5: upstream keeps a suffix found for an earlier kernel; we do not.
  EXPECT_EQ(suffix_with({"a.ko.xz"}), ".xz");
  EXPECT_EQ(suffix_with({"a.ko"}), "");
}

// ---- distribution (SPEC §0.5) ---------------------------------------------

class DistroTest : public ::testing::Test {
protected:
  std::string detect(const std::string& os_release) {
    write_text(t.ctx.sys.os_release, os_release);
    std::string distro = "unset";
    EXPECT_TRUE(core::detect_distro(t.ctx.sys, distro));
    return distro;
  }

  test_support::TestContext t;
};

TEST_F(DistroTest, UbuntuIdWinsOverIdLike) {
  EXPECT_EQ(detect("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n"), "ubuntu");
}

TEST_F(DistroTest, WholeIdLikeWhenSet) {
  EXPECT_EQ(detect("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"), "ubuntu debian");
  EXPECT_EQ(detect("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
            "rhel centos fedora");
  EXPECT_EQ(detect("ID=opensuse-leap\nID_LIKE='suse opensuse'\n"), "suse opensuse");
}

TEST_F(DistroTest, IdWithoutIdLike) {
  EXPECT_EQ(detect("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"),
            "debian");
  EXPECT_EQ(detect("ID=\"alpine\"\n"), "alpine");
}

TEST_F(DistroTest, EmptyButSetIdLikeGivesEmpty) {
  // Upstream tests ${#ID_LIKE[@]} != 0, which is true for ID_LIKE="".
  EXPECT_EQ(detect("ID=arch\nID_LIKE=\n"), "");
}

TEST_F(DistroTest, FallbackFileAndMissingFiles) {
  std::string distro;
  EXPECT_FALSE(core::detect_distro(t.ctx.sys, distro));
  write_text(t.ctx.sys.os_release_fallback, "ID=fedora\n");
  EXPECT_TRUE(core::detect_distro(t.ctx.sys, distro));
  EXPECT_EQ(distro, "fedora");
  // The /etc file, when present, is the one read.
  EXPECT_EQ(detect("ID=gentoo\n"), "gentoo");
}

// Oracle: upstream's distro_version body, run by bash on the same file.
std::string distro_by_bash(const std::string& file) {
  auto r = core::run_capture(
      {"bash", "-c",
       "running_distribution=$( ( . \"$1\"; if [[ \"$ID\" = \"ubuntu\" ]]; then echo "
       "\"$ID\"; elif [[ ${#ID_LIKE[@]} != 0 ]]; then echo \"${ID_LIKE[0]}\"; else echo "
       "\"$ID\"; fi ) 2>/dev/null); printf %s \"$running_distribution\"",
       "oracle", file});
  return r.output;
}

TEST_F(DistroTest, AgreesWithBashSourcingOnUnusualFiles) {
  const char* const texts[] = {
      "# comment\n\nNAME=\"Debian\"\nID=debian\nVERSION_ID=\"12\"\n",
      "ID='arch'\n",
      "ID=ubuntu\nID=debian\n",
      "ID_LIKE=rhel\n",
      "  ID=indented\n",
      "ID=\"\"\n",
      "export ID=gentoo\n",
      "ID=x\nID_LIKE=\"$ID-like\"\n",
      "ID=\"a\\\"b\"\n",
      "ID=debian # trailing comment\n",
      "ID=de bian\n",
      "ID=fedora\r\nID_LIKE=\"rhel\"\r\n",
      "ID=linuxmint\nID_LIKE=ubuntu\\ debian\n",
      "ID=alpine\nID_LIKE=\n",
      "ID=suse; ID_LIKE=sles\n",
      "ID=$(echo sub)\n",
      "ID=a=b\n",
      "ID=\"multi\nline\"\n",
      "ID=\"unterminated\n",
  };
  for (const char* text : texts) {
    write_text(t.ctx.sys.os_release, text);
    std::string distro = "unset";
    EXPECT_TRUE(core::detect_distro(t.ctx.sys, distro)) << text;
    EXPECT_EQ(distro, util::first_line(distro_by_bash(t.ctx.sys.os_release))) << text;
  }
}

TEST(DistroMatches, GlobOnTheWholeString) {
  EXPECT_TRUE(core::distro_matches("ubuntu debian", "ubuntu*"));
  EXPECT_TRUE(core::distro_matches("rhel centos fedora", "rhel*"));
  EXPECT_FALSE(core::distro_matches("centos rhel", "rhel*"));
  EXPECT_FALSE(core::distro_matches("debian", "ubuntu*"));
  EXPECT_TRUE(core::distro_matches("debian", "debian*"));
}

} // namespace
