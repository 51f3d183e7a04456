#include "core/compress.hpp"
#include "core/modinfo.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

// A .modinfo payload: NUL-terminated key=value entries.
struct Payload {
  std::string name;
  std::string entries;
};

const std::vector<Payload> k_payloads = {
    {"both", std::string("version=1.2 CKSUM\0srcversion=ABC123\0license=GPL\0", 48)},
    {"checksum_only", std::string("license=GPL\0version=2.0.1 0123456789ABCDEF\0", 44)},
    {"srcversion_only", std::string("srcversion=F00D\0author=me\0", 26)},
    {"unversioned", std::string("license=GPL\0description=x y z\0", 31)},
    {"two_versions",
     std::string("version=1.0 AAA\0version=3.1 BBB\0srcversion=S1\0srcversion=S2\0", 61)},
    {"empty_version", std::string("version=\0srcversion=\0", 21)},
    {"padding", std::string("\0\0version=4.5\0\0\0parm=x:int\0srcversion=QQ\0", 41)},
    {"no_equals", std::string("intree\0version=7\0", 17)},
};

std::string temp_dir;

core::ProcessResult run(const std::vector<std::string>& argv) {
  return core::run_capture(argv);
}

// Writes the payload as a module in several ELF flavours; returns the paths.
std::vector<std::string> build_modules(const Payload& p) {
  static std::map<std::string, std::vector<std::string>> built;
  auto it = built.find(p.name);
  if (it != built.end()) {
    return it->second;
  }
  std::string base = temp_dir + "/" + p.name;
  std::string bin = base + ".bin";
  EXPECT_TRUE(util::write_file_atomic(bin, p.entries));
  std::vector<std::string> paths;
  // A real compiler object (ELF64 little endian, with .text, .symtab, ...).
  std::string c = base + ".c";
  std::string array;
  for (char ch : p.entries) {
    array += std::to_string(static_cast<unsigned char>(ch)) + ",";
  }
  EXPECT_TRUE(util::write_file_atomic(c, "int f(void) { return 1; }\nstatic const char "
                                         "__attribute__((section(\".modinfo\"), "
                                         "used, aligned(1))) mi[] = {" +
                                             array + "};\n"));
  std::string gcc_out = base + "-gcc.ko";
  EXPECT_EQ(run({"gcc", "-c", c, "-o", gcc_out}).status, 0);
  paths.push_back(gcc_out);
  // Both classes and byte orders, made from the raw payload.
  for (const char* target : {"elf64-big", "elf32-big", "elf32-little", "elf64-little"}) {
    std::string out = base + "-" + target + ".ko";
    core::ProcessResult r = run({"objcopy", "-I", "binary", "-O", target,
                                 "--rename-section", ".data=.modinfo", bin, out});
    EXPECT_EQ(r.status, 0) << r.output;
    paths.push_back(out);
  }
  built[p.name] = paths;
  return paths;
}

// Upstream's reading of modinfo(8) output, restated: words of each line,
// the last "version:" line gives version and checksum, the last
// "srcversion:" line the srcversion, which falls back to the checksum.
const char* k_oracle = R"SH(ver= src= sum=
while read -ra w; do
  [[ ${#w[@]} -eq 0 ]] && continue
  [[ ${w[0]} == version: ]] && { ver=${w[1]}; sum=${w[2]}; }
  [[ ${w[0]} == srcversion: ]] && src=${w[1]}
done <<< "$(/sbin/modinfo "$1")"
printf '%s\n%s\n' "$ver" "${src:-$sum}")SH";

class ModInfoTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    temp_dir = *util::make_temp_dir("/tmp", "dkms-modinfo-test.");
  }
  static void TearDownTestSuite() { util::remove_all(temp_dir); }
};

TEST_F(ModInfoTest, FieldsInOrderFromEveryElfFlavour) {
  for (const std::string& path : build_modules(k_payloads[0])) {
    SCOPED_TRACE(path);
    auto info = core::read_modinfo(path);
    ASSERT_TRUE(info);
    std::vector<std::pair<std::string, std::string>> expected = {
        {"version", "1.2 CKSUM"}, {"srcversion", "ABC123"}, {"license", "GPL"}};
    EXPECT_EQ(info->fields, expected);
    EXPECT_EQ(info->get("license"), "GPL");
    EXPECT_TRUE(info->has("srcversion"));
    EXPECT_FALSE(info->has("author"));
    EXPECT_EQ(info->get("author"), "");
  }
}

TEST_F(ModInfoTest, PaddingAndEntriesWithoutEquals) {
  auto info = core::read_modinfo(build_modules(k_payloads[6])[0]);
  ASSERT_TRUE(info);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"version", "4.5"}, {"parm", "x:int"}, {"srcversion", "QQ"}};
  EXPECT_EQ(info->fields, expected);
  info = core::read_modinfo(build_modules(k_payloads[7])[1]);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->has("intree"));
  EXPECT_EQ(info->get("version"), "7");
}

TEST_F(ModInfoTest, FieldsMatchModinfoTool) {
  if (!util::is_executable_file("/sbin/modinfo")) {
    GTEST_SKIP() << "no /sbin/modinfo";
  }
  // Every payload from the compiler's object; every ELF flavour of the first.
  std::vector<std::string> files = build_modules(k_payloads[0]);
  for (const Payload& p : k_payloads) {
    files.push_back(build_modules(p)[0]);
  }
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    auto info = core::read_modinfo(path);
    ASSERT_TRUE(info);
    for (const char* key : {"version", "srcversion", "license"}) {
      core::ProcessResult r = run({"/sbin/modinfo", "-F", key, path});
      ASSERT_EQ(r.status, 0);
      // -F prints every value of the key, one per line.
      std::string ours;
      for (const auto& [k, v] : info->fields) {
        if (k == key) {
          ours += v + "\n";
        }
      }
      EXPECT_EQ(ours, r.output) << key;
    }
  }
}

TEST_F(ModInfoTest, VersionInfoMatchesUpstreamReadingOfModinfo) {
  if (!util::is_executable_file("/sbin/modinfo")) {
    GTEST_SKIP() << "no /sbin/modinfo";
  }
  for (const Payload& p : k_payloads) {
    SCOPED_TRACE(p.name);
    std::string path = build_modules(p)[0];
    core::ProcessResult r = run({"bash", "-c", k_oracle, "oracle", path});
    ASSERT_EQ(r.status, 0);
    auto info = core::read_modinfo(path);
    ASSERT_TRUE(info);
    core::VersionInfo v = core::version_info(*info);
    EXPECT_EQ(v.version + "\n" + v.srcversion + "\n", r.output);
  }
}

TEST(VersionInfo, Semantics) {
  core::ModInfo m;
  m.fields = {{"version", "1.2 CKSUM"}, {"srcversion", "ABC"}};
  core::VersionInfo v = core::version_info(m);
  EXPECT_EQ(v.version, "1.2");
  EXPECT_EQ(v.srcversion, "ABC");
  EXPECT_EQ(v.raw_version, "1.2 CKSUM");

  m.fields = {{"version", "  2.0   SUM  extra"}};
  v = core::version_info(m);
  EXPECT_EQ(v.version, "2.0");
  EXPECT_EQ(v.srcversion, "SUM");
  EXPECT_EQ(v.raw_version, "  2.0   SUM  extra");

  // The last of repeated fields wins, as upstream's read loop overwrites.
  m.fields = {
      {"version", "1 A"}, {"srcversion", "X"}, {"version", "2"}, {"srcversion", ""}};
  v = core::version_info(m);
  EXPECT_EQ(v.version, "2");
  EXPECT_EQ(v.srcversion, ""); // empty srcversion falls back to the (empty) checksum

  // A multi-line value prints as several lines; one may look like a field.
  m.fields = {{"description", "first\nversion: 9.9 Z"}};
  v = core::version_info(m);
  EXPECT_EQ(v.version, "9.9");
  EXPECT_EQ(v.srcversion, "Z");

  // Only the exact keys count.
  m.fields = {{"myversion", "5"}, {"srcversion2", "Q"}};
  v = core::version_info(m);
  EXPECT_EQ(v.version, "");
  EXPECT_EQ(v.srcversion, "");
}

TEST_F(ModInfoTest, CompressedModules) {
  std::string plain = build_modules(k_payloads[0])[0];
  std::string data = *util::read_file(plain);
  struct Case {
    core::Compression c;
    std::string options;
  };
  for (const Case& k :
       {Case{core::Compression::gzip, ""},
        Case{core::Compression::xz, "--check=crc32 --lzma2=dict=1MiB"},
        Case{core::Compression::zstd, "-q --rm -T0"}, Case{core::Compression::gzip, "-9"},
        Case{core::Compression::xz, "-0"},
        Case{core::Compression::zstd, "-q --rm -19"}}) {
    std::string path = temp_dir + "/compressed.ko";
    ASSERT_TRUE(util::write_file_atomic(path, data));
    ASSERT_TRUE(core::compress_file(path, k.c, k.options));
    std::string packed = path + std::string(core::suffix_of(k.c));
    SCOPED_TRACE(packed + " " + k.options);
    auto info = core::read_modinfo(packed);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->get("srcversion"), "ABC123");
    // kmod on Debian 12 reads .xz and .zst (not .gz): compare where it can.
    if (k.c != core::Compression::gzip && util::is_executable_file("/sbin/modinfo")) {
      EXPECT_EQ(run({"/sbin/modinfo", "-F", "version", packed}).output, "1.2 CKSUM\n");
    }
    util::remove_file(packed);
  }
}

TEST_F(ModInfoTest, NoModinfoSectionGivesEmptyInfo) {
  std::string c = temp_dir + "/plain.c";
  std::string o = temp_dir + "/plain.o";
  ASSERT_TRUE(util::write_file_atomic(c, "int g(void) { return 2; }\n"));
  ASSERT_EQ(run({"gcc", "-c", c, "-o", o}).status, 0);
  auto info = core::read_modinfo(o);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->fields.empty());
}

TEST_F(ModInfoTest, BrokenFilesAreRejected) {
  EXPECT_FALSE(core::read_modinfo(temp_dir + "/does-not-exist.ko"));
  EXPECT_FALSE(core::parse_modinfo(""));
  EXPECT_FALSE(core::parse_modinfo("not an elf file at all, just some text"));
  EXPECT_FALSE(core::parse_modinfo(std::string("\x7f"
                                               "ELF\x02\x01\x01",
                                               7) +
                                   std::string(100, '\xff')));

  std::string data = *util::read_file(build_modules(k_payloads[0])[0]);
  // gcc puts the section headers last: every truncation loses them.
  for (size_t len :
       {size_t{0}, size_t{16}, size_t{64}, data.size() / 2, data.size() - 1}) {
    EXPECT_FALSE(core::parse_modinfo(std::string_view(data).substr(0, len))) << len;
  }
  // A truncated compressed module.
  std::string xz =
      core::run_capture({"bash", "-c", "xz -c < " + build_modules(k_payloads[0])[0]})
          .output;
  std::string path = temp_dir + "/truncated.ko.xz";
  ASSERT_TRUE(util::write_file_atomic(path, xz.substr(0, xz.size() - 8)));
  EXPECT_FALSE(core::read_modinfo(path));

  // Random corruption must never crash or read out of bounds.
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = data;
    for (int k = 0; k < 4; ++k) {
      bad[64 + rng() % (bad.size() - 64)] = static_cast<char>(rng());
    }
    bad[rng() % 64] = static_cast<char>(rng());
    (void)core::parse_modinfo(bad);
  }
}

} // namespace

TEST_F(ModInfoTest, ElfSectionByExactName) {
  std::string c = temp_dir + "/comment.c";
  std::string o = temp_dir + "/comment.o";
  std::string raw = temp_dir + "/comment.raw";
  ASSERT_TRUE(util::write_file_atomic(c, "int h(void) { return 3; }\n"));
  ASSERT_EQ(run({"gcc", "-c", c, "-o", o}).status, 0);
  // objcopy's copy of the section's bytes is the oracle.
  ASSERT_EQ(run({"objcopy", "--dump-section", ".comment=" + raw, o, o + ".copy"}).status,
            0);
  std::string data = *util::read_file(o);
  auto comment = core::elf_section(data, ".comment");
  ASSERT_TRUE(comment);
  EXPECT_EQ(std::string(*comment), *util::read_file(raw));
  EXPECT_NE(comment->find("GCC"), std::string_view::npos);
  // A prefix of a section name is not that section.
  auto prefix = core::elf_section(data, ".comm");
  ASSERT_TRUE(prefix);
  EXPECT_TRUE(prefix->empty());
  EXPECT_FALSE(core::elf_section("not an elf file at all, just some text", ".comment"));
}
