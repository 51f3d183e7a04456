#include "../test_support.hpp"
#include "core/compress.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <sys/stat.h>

namespace {

const std::string k_xz_defaults = "--check=crc32 --lzma2=dict=1MiB";
const std::string k_zstd_defaults = "-q --rm -T0";

// Compressible but not trivial content, like an object file.
std::string sample_data(size_t size) {
  std::mt19937 rng(1);
  std::string s;
  while (s.size() < size) {
    s += "symbol_" + std::to_string(rng() % 500) + '\0';
    s += static_cast<char>(rng() % 256);
  }
  s.resize(size);
  return s;
}

class CompressFile : public ::testing::Test {
protected:
  void SetUp() override {
    auto d = util::make_temp_dir("/tmp", "dkms-compress-test.");
    ASSERT_TRUE(d);
    m_dir = *d;
    m_path = m_dir + "/mod.ko";
    m_data = sample_data(200000);
    ASSERT_TRUE(util::write_file_atomic(m_path, m_data, 0640));
  }
  void TearDown() override { util::remove_all(m_dir); }

  // Runs a tool on a file; returns its exit status and output.
  static core::ProcessResult tool(const std::vector<std::string>& argv) {
    return core::run_capture(argv);
  }

  std::string m_dir;
  std::string m_path;
  std::string m_data;
};

TEST(CompressTable, SuffixesAndMagic) {
  EXPECT_EQ(core::suffix_of(core::Compression::gzip), ".gz");
  EXPECT_EQ(core::suffix_of(core::Compression::xz), ".xz");
  EXPECT_EQ(core::suffix_of(core::Compression::zstd), ".zst");
  EXPECT_EQ(core::suffix_of(core::Compression::none), "");
  EXPECT_EQ(core::compression_from_suffix(".gz"), core::Compression::gzip);
  EXPECT_EQ(core::compression_from_suffix(".xz"), core::Compression::xz);
  EXPECT_EQ(core::compression_from_suffix(".zst"), core::Compression::zstd);
  EXPECT_EQ(core::compression_from_suffix(".ko"), core::Compression::none);
  EXPECT_EQ(core::compression_from_suffix(""), core::Compression::none);

  using namespace std::string_view_literals;
  EXPECT_EQ(core::detect_compression("\x1f\x8b\x08"sv), core::Compression::gzip);
  EXPECT_EQ(core::detect_compression("\xfd"
                                     "7zXZ\0\0"sv),
            core::Compression::xz);
  EXPECT_EQ(core::detect_compression("\x28\xb5\x2f\xfd\x00"sv), core::Compression::zstd);
  EXPECT_EQ(core::detect_compression("\x7f"
                                     "ELF"sv),
            core::Compression::none);
  EXPECT_EQ(core::detect_compression("\x1f"sv), core::Compression::none);
  EXPECT_EQ(core::detect_compression("\xfd"
                                     "7zXZ"sv),
            core::Compression::none); // too short
  EXPECT_EQ(core::detect_compression(""), core::Compression::none);
}

TEST(Decompress, PlainDataIsReturnedUnchanged) {
  EXPECT_EQ(core::decompress("\x7f"
                             "ELF plain"),
            "\x7f"
            "ELF plain");
}

TEST_F(CompressFile, DefaultsRoundTripAndToolsAcceptOutput) {
  struct Case {
    core::Compression c;
    std::string options;
    std::string tool;
  };
  for (const Case& k : {Case{core::Compression::gzip, "", "gzip"},
                        Case{core::Compression::xz, k_xz_defaults, "xz"},
                        Case{core::Compression::zstd, k_zstd_defaults, "zstd"}}) {
    SCOPED_TRACE(k.tool);
    ASSERT_TRUE(util::write_file_atomic(m_path, m_data, 0640));
    struct stat before;
    ASSERT_EQ(stat(m_path.c_str(), &before), 0);
    ASSERT_TRUE(core::compress_file(m_path, k.c, k.options));
    std::string out = m_path + std::string(core::suffix_of(k.c));
    EXPECT_FALSE(util::lexists(m_path));
    struct stat after;
    ASSERT_EQ(stat(out.c_str(), &after), 0);
    EXPECT_EQ(after.st_mode & 07777, 0640u);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);

    auto packed = util::read_file(out);
    ASSERT_TRUE(packed);
    EXPECT_EQ(core::detect_compression(*packed), k.c);
    EXPECT_LT(packed->size(), m_data.size());
    auto back = core::decompress(*packed);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m_data);

    core::ProcessResult t = tool({k.tool, "-t", out});
    EXPECT_EQ(t.status, 0) << t.output;
    core::ProcessResult d = tool({k.tool, "-dc", out});
    EXPECT_EQ(d.output, m_data);
    util::remove_file(out);
  }
}

TEST_F(CompressFile, PreparedMemoryChangesNoByte) {
  // The working memory prepare_compression() maps ahead is reused from one
  // file to the next: each output must still be what a fresh library gives.
  struct Case {
    core::Compression c;
    std::string options;
  };
  const std::string small = sample_data(5000);
  for (const Case& k :
       {Case{core::Compression::gzip, ""}, Case{core::Compression::xz, k_xz_defaults},
        Case{core::Compression::zstd, k_zstd_defaults}}) {
    SCOPED_TRACE(static_cast<int>(k.c));
    const std::string out = m_path + std::string(core::suffix_of(k.c));
    auto compress = [&](const std::string& data, bool prepare) {
      EXPECT_TRUE(util::write_file_atomic(m_path, data, 0640));
      // gzip's header records the file's mtime: the same one for each write.
      const struct timespec fixed[2] = {{1700000000, 0}, {1700000000, 0}};
      EXPECT_EQ(utimensat(AT_FDCWD, m_path.c_str(), fixed, 0), 0);
      if (prepare) {
        core::prepare_compression(k.c, k.options, data.size() * 4);
      }
      EXPECT_TRUE(core::compress_file(m_path, k.c, k.options));
      auto packed = util::read_file(out);
      util::remove_file(out);
      return packed.value_or("");
    };
    const std::string big_first = compress(m_data, false);
    const std::string small_first = compress(small, false);
    EXPECT_EQ(core::decompress(big_first), m_data);
    EXPECT_EQ(core::decompress(small_first), small);
    EXPECT_EQ(compress(m_data, true), big_first);
    EXPECT_EQ(compress(small, true), small_first);
    EXPECT_EQ(compress(m_data, false), big_first);
    // Options the libraries do not take leave the tool to do it.
    core::prepare_compression(k.c, "-1", m_data.size());
  }
}

TEST_F(CompressFile, XzUsesCrc32AndSmallDictionary) {
  ASSERT_TRUE(core::compress_file(m_path, core::Compression::xz, k_xz_defaults));
  core::ProcessResult r = tool({"xz", "-lvv", m_path + ".xz"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Check:             CRC32"), std::string::npos) << r.output;
  // 200000 bytes fit in 256 KiB, under the 1 MiB of framework.conf.
  EXPECT_NE(r.output.find("--lzma2=dict=256KiB"), std::string::npos) << r.output;
}

TEST(XzDictionary, SmallestNameableSizeHoldingTheInputUpToOneMiB) {
  EXPECT_EQ(core::xz_dictionary_size(0), 4096u);
  EXPECT_EQ(core::xz_dictionary_size(4096), 4096u);
  EXPECT_EQ(core::xz_dictionary_size(4097), 6144u);
  EXPECT_EQ(core::xz_dictionary_size(6144), 6144u);
  EXPECT_EQ(core::xz_dictionary_size(6145), 8192u);
  EXPECT_EQ(core::xz_dictionary_size(200000), 256u * 1024);
  EXPECT_EQ(core::xz_dictionary_size(700000), 768u * 1024);
  EXPECT_EQ(core::xz_dictionary_size(800000), 1024u * 1024);
  EXPECT_EQ(core::xz_dictionary_size(50u << 20), 1024u * 1024);
}

// Same liblzma, same settings: xz(1) single-threaded writes the same bytes.
void expect_like_xz_tool(const std::string& dir, const std::string& data,
                         const std::string& lzma2) {
  std::string ours = dir + "/ours.ko";
  std::string theirs = dir + "/theirs.ko";
  ASSERT_TRUE(util::write_file_atomic(ours, data));
  ASSERT_TRUE(util::write_file_atomic(theirs, data));
  ASSERT_EQ(
      core::run_capture({"xz", "--check=crc32", "--lzma2=" + lzma2, "-T1", "-f", theirs})
          .status,
      0);
  ASSERT_TRUE(core::compress_file(ours, core::Compression::xz, k_xz_defaults));
  EXPECT_TRUE(util::files_equal(ours + ".xz", theirs + ".xz")) << lzma2;
  core::ProcessResult r = core::run_capture({"xz", "-lvv", ours + ".xz"});
  EXPECT_NE(r.output.find("--lzma2=" + lzma2), std::string::npos) << r.output;
}

TEST_F(CompressFile, XzMatchesTheToolByteForByte) {
  // Above 1 MiB: exactly framework.conf's default options.
  expect_like_xz_tool(m_dir, sample_data(3u << 20), "dict=1MiB");
  // Below: the tool given the reduced dictionary.
  expect_like_xz_tool(m_dir, m_data, "dict=256KiB");
  expect_like_xz_tool(m_dir, sample_data(3000), "dict=4KiB");
  expect_like_xz_tool(m_dir, sample_data(5000), "dict=6KiB");
}

TEST_F(CompressFile, GzipHeaderNamesTheFile) {
  ASSERT_TRUE(core::compress_file(m_path, core::Compression::gzip, ""));
  core::ProcessResult r = tool({"gzip", "-lN", m_path + ".gz"});
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.output.find(m_path), std::string::npos) << r.output;
}

TEST_F(CompressFile, DefaultOptionsCompareAsWords) {
  // Extra blanks do not change what bash passes to the tool.
  ASSERT_TRUE(core::compress_file(m_path, core::Compression::zstd, "  -q\t--rm  -T0 "));
  EXPECT_FALSE(util::lexists(m_path));
  auto back = core::decompress(*util::read_file(m_path + ".zst"));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m_data);
}

TEST_F(CompressFile, OtherOptionsRunTheTool) {
  // CRC64 can only come from xz(1) itself: the library path always uses CRC32.
  ASSERT_TRUE(core::compress_file(m_path, core::Compression::xz, "-1 --check=crc64"));
  EXPECT_FALSE(util::lexists(m_path));
  core::ProcessResult r = tool({"xz", "-lvv", m_path + ".xz"});
  EXPECT_NE(r.output.find("Check:             CRC64"), std::string::npos) << r.output;
  EXPECT_EQ(core::decompress(*util::read_file(m_path + ".xz")), m_data);
}

TEST_F(CompressFile, ToolOutputGoesThroughOutput) {
  core::Output out;
  out.begin_capture();
  // zstd without -q reports what it did on stderr.
  ASSERT_TRUE(core::compress_file(m_path, core::Compression::zstd, "--rm -v", out));
  auto chunks = out.end_capture();
  ASSERT_FALSE(chunks.empty());
  EXPECT_NE(chunks[0].text.find("mod.ko"), std::string::npos) << chunks[0].text;
  EXPECT_FALSE(util::lexists(m_path));
}

TEST_F(CompressFile, FailureLeavesTheFile) {
  EXPECT_FALSE(core::compress_file(m_path, core::Compression::gzip, "--no-such-option"));
  EXPECT_EQ(util::read_file(m_path), m_data);
  EXPECT_FALSE(util::lexists(m_path + ".gz"));

  EXPECT_FALSE(core::compress_file(m_path, core::Compression::none, ""));
  EXPECT_EQ(util::read_file(m_path), m_data);

  EXPECT_FALSE(
      core::compress_file(m_dir + "/missing.ko", core::Compression::xz, k_xz_defaults));
  EXPECT_FALSE(util::lexists(m_dir + "/missing.ko.xz"));

  // Unwritable directory: the library path cannot create its temp file.
  if (geteuid() != 0) {
    chmod(m_dir.c_str(), 0500);
    EXPECT_FALSE(core::compress_file(m_path, core::Compression::gzip, ""));
    chmod(m_dir.c_str(), 0700);
    EXPECT_EQ(util::read_file(m_path), m_data);
  }
}

TEST_F(CompressFile, DecompressesToolOutput) {
  // zstd from a pipe writes a frame without content size; gzip -c twice
  // makes two concatenated members; xz with CRC64 and SHA-256 checks.
  core::ProcessResult z =
      core::run_capture({"bash", "-c", "zstd -q -c < '" + m_path + "'"});
  ASSERT_EQ(z.status, 0);
  EXPECT_EQ(core::decompress(z.output), m_data);

  core::ProcessResult g = core::run_capture(
      {"bash", "-c", "gzip -c '" + m_path + "'; gzip -c '" + m_path + "'"});
  ASSERT_EQ(g.status, 0);
  EXPECT_EQ(core::decompress(g.output), m_data + m_data);

  for (const char* check : {"--check=crc64", "--check=sha256", "--check=none"}) {
    core::ProcessResult x = core::run_capture({"xz", check, "-c", m_path});
    ASSERT_EQ(x.status, 0);
    EXPECT_EQ(core::decompress(x.output), m_data) << check;
  }
}

TEST_F(CompressFile, CorruptOrTruncatedInputIsRejected) {
  for (const char* t : {"gzip", "xz", "zstd"}) {
    SCOPED_TRACE(t);
    core::ProcessResult r = core::run_capture({t, "-c", m_path});
    ASSERT_EQ(r.status, 0);
    std::string packed = r.output;
    ASSERT_EQ(core::decompress(packed), m_data);

    EXPECT_FALSE(core::decompress(packed.substr(0, packed.size() / 2)));
    EXPECT_FALSE(core::decompress(packed.substr(0, packed.size() - 1)));
    std::string flipped = packed;
    for (size_t i = 20; i < flipped.size(); i += 97) {
      flipped[i] = static_cast<char>(flipped[i] ^ 0x55);
    }
    EXPECT_FALSE(core::decompress(flipped));
    // Magic bytes followed by garbage.
    EXPECT_FALSE(core::decompress(packed.substr(0, 6) + std::string(100, 'x')));
  }
}

TEST(Decompress, BombLimit) {
  // 8 MiB of zeros packs into a few KiB.
  std::string zeros(8 << 20, '\0');
  test_support::TempDir dir; // removed even when an assertion ends the test early
  std::string path = dir / "zeros";
  for (core::Compression c :
       {core::Compression::gzip, core::Compression::xz, core::Compression::zstd}) {
    ASSERT_TRUE(util::write_file_atomic(path, zeros));
    std::string opts = c == core::Compression::xz     ? k_xz_defaults
                       : c == core::Compression::zstd ? k_zstd_defaults
                                                      : "";
    ASSERT_TRUE(core::compress_file(path, c, opts));
    std::string packed = *util::read_file(path + std::string(core::suffix_of(c)));
    EXPECT_LT(packed.size(), size_t{64} << 10);
    EXPECT_FALSE(core::decompress(packed, size_t{1} << 20));
    EXPECT_FALSE(core::decompress(packed, zeros.size() - 1));
    auto exact = core::decompress(packed, zeros.size());
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->size(), zeros.size());
  }
}

} // namespace
