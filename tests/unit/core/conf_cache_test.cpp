// The status fast paths: the persistent conf cache (trust rule, staleness),
// and the native os-release reading checked against bash sourcing the same
// file (the reference upstream uses).
#include "core/conf_cache.hpp"
#include "core/kernel.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <utime.h>
#include <vector>

namespace {

const std::set<std::string>& known() {
  static const std::set<std::string> names = [] {
    std::set<std::string> n = {"kernelver", "arch", "kernel_source_dir", "dkms_tree"};
    for (const auto& a : core::conf_accepted_names()) {
      n.insert(a);
    }
    return n;
  }();
  return names;
}

bool is_static(const std::string& text, std::set<std::string>* refs = nullptr) {
  return core::is_static_conf(text, known(), refs);
}

TEST(StaticConf, PlainAssignmentsCommentsAndKnownExpansions) {
  std::set<std::string> refs;
  EXPECT_TRUE(is_static(
      "# a comment\n"
      "PACKAGE_NAME=\"foo\"\n"
      "PACKAGE_VERSION=1.0 # trailing\n"
      "BUILT_MODULE_NAME[0]='foo'; DEST_MODULE_LOCATION[0]=\"/updates\"\n"
      "\n"
      "MAKE[0]=\"make -C ${kernel_source_dir} M=$dkms_tree/foo KVER=$kernelver\"\n"
      "base=/extra\n"
      "DEST_MODULE_LOCATION[1]=\"$base/x\"\n"
      "MAKE[1]='make KVER=${kernelver%%-amd64}'\n",
      &refs));
  EXPECT_EQ(refs, (std::set<std::string>{"kernel_source_dir", "dkms_tree", "kernelver"}));
}

TEST(StaticConf, RejectsAnythingThatCanDependOnMoreThanTheText) {
  for (const char* text : {
           "MAKE=\"$(uname -r)\"\n",       // command substitution
           "MAKE=\"`uname -r`\"\n",        // backquotes
           "MAKE=\"$HOME/x\"\n",           // environment
           "MAKE='$base'\nbase=1\n",       // second pass in the main shell
           "base=1\nMAKE='$base'\n",       // same, after assignment
           "PACKAGE_NAME=foo\nmake\n",     // a command
           "X=1 make\n",                   // an assignment prefix
           "if [ -d /x ]; then A=1; fi\n", // control flow
           "A=*.c\n",                      // glob in upstream's echo
           "A=~/x\n",                      // tilde
           "A=\"a\\\"b\"\n",               // escaped quote
           "A='a\"b'\n",                   // breaks the second pass
           "A=\"${RANDOM}\"\n",            // dynamic variable
           "SECONDS=1; A=$SECONDS\n",      // even when assigned
           "A[$i]=x\n",                    // arithmetic subscript
           "X+=y\n",                       // appends to the environment
           "A=$((1+1))\n",                 // arithmetic
           "A=${!kernelver}\n",            // indirection
           "A=\"x\"\r\n",                  // CR
           ". /etc/foo.conf\n",            // sourcing
           ";\n",                          // syntax error
       }) {
    EXPECT_FALSE(is_static(text)) << text;
  }
}

// --- os-release ------------------------------------------------------------

class OsRelease : public ::testing::Test {
protected:
  void SetUp() override {
    auto dir = util::make_temp_dir("/tmp", "dkms-osr-test-");
    ASSERT_TRUE(dir);
    m_dir = *dir;
  }
  void TearDown() override { util::remove_all(m_dir); }

  // The native answer (if the parser accepts the text) and bash's.
  void check(const std::string& text, bool native_expected, const std::string& expected) {
    std::string path = m_dir + "/os-release";
    ASSERT_TRUE(util::write_file_atomic(path, text));
    std::string shell = core::distro_from_os_release_shell(path);
    EXPECT_EQ(shell, expected) << text;
    auto ids = core::parse_os_release(text);
    EXPECT_EQ(ids.has_value(), native_expected) << text;
    if (ids && getenv("ID") == nullptr && getenv("ID_LIKE") == nullptr) {
      EXPECT_EQ(core::distro_from_ids(*ids), shell) << text;
    }
    core::SystemPaths sys;
    sys.os_release = path;
    std::string detected;
    ASSERT_TRUE(core::detect_distro(sys, detected));
    EXPECT_EQ(detected, shell) << text;
  }

  std::string m_dir;
};

TEST_F(OsRelease, NativeEqualsBashOnCommonFiles) {
  unsetenv("ID");
  unsetenv("ID_LIKE");
  check("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
        "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"
        "ID=debian\nHOME_URL=\"https://www.debian.org/\"\n",
        true, "debian");
  check(
      "NAME=\"Ubuntu\"\nVERSION=\"24.04 LTS (Noble Numbat)\"\nID=ubuntu\nID_LIKE=debian\n"
      "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nUBUNTU_CODENAME=noble\n",
      true, "ubuntu");
  check("NAME=\"Fedora Linux\"\nVERSION=\"40 (Workstation Edition)\"\nID=fedora\n"
        "VERSION_ID=40\nPLATFORM_ID=\"platform:f40\"\nANSI_COLOR=\"0;38;2;60;110;180\"\n"
        "CPE_NAME=\"cpe:/o:fedoraproject:fedora:40\"\n",
        true, "fedora");
  check("NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\n"
        "ID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
        true, "fedora");
  check(
      "NAME=\"openSUSE Tumbleweed\"\n# VERSION=\"20240101\"\nID=\"opensuse-tumbleweed\"\n"
      "ID_LIKE=\"opensuse suse\"\nVERSION_ID=\"20240101\"\n",
      true, "opensuse suse");
  check("NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n"
        "LOGO=archlinux-logo\n",
        true, "arch");
  check("ID=debian\nID_LIKE=\n", true, "");
  check("NAME='Single Quoted'\nID='debian'\n", true, "debian");
}

TEST_F(OsRelease, TrickyFilesTakeTheShellPath) {
  unsetenv("ID");
  unsetenv("ID_LIKE");
  check("NAME=\"Quote \\\"inside\\\"\"\nID=\"my\\$distro\"\n", false, "my$distro");
  check("ID=debian # comment\n", false, "debian");
  check("ID=$(echo gentoo)\n", false, "gentoo");
  check("export ID=alpine\n", false, "alpine");
  check("ID=\"deb\"ian\n", false, "debian");
  check("ID=debian\r\n", false, "debian\r");
}

TEST_F(OsRelease, EnvironmentFillsWhatTheFileLeavesUnset) {
  setenv("ID_LIKE", "fromenv", 1);
  unsetenv("ID");
  check("ID=debian\n", true, "fromenv");
  unsetenv("ID_LIKE");
}

// --- the cache itself --------------------------------------------------------

class ConfCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto dir = util::make_temp_dir("/tmp", "dkms-cache-test-");
    ASSERT_TRUE(dir);
    m_root = *dir;
    ctx.settings.dkms_tree = m_root + "/dt";
    ctx.settings.install_tree = m_root + "/modules";
    ctx.sys.etc_dkms = m_root + "/etc";
    ctx.distro = "debian";
    ASSERT_TRUE(util::mkdir_p(ctx.sys.etc_dkms));
    ASSERT_TRUE(util::mkdir_p(ctx.settings.dkms_tree + "/foo/1.0/source"));
    req.main_file = ctx.settings.dkms_tree + "/foo/1.0/source/dkms.conf";
    req.module = "foo";
    req.version = "1.0";
    req.target = {"6.1.0-1-amd64", "x86_64"};
  }
  void TearDown() override { util::remove_all(m_root); }

  // The cache ignores files changed within the last second: tests write,
  // then settle() before the read that should store.
  void write_old(const std::string& path, const std::string& text) {
    ASSERT_TRUE(util::write_file_atomic(path, text));
  }
  void settle() { sleep(2); }

  std::string m_root;
  core::Output out;
  core::Context ctx{out};
  core::ConfRequest req;
};

TEST_F(ConfCacheTest, StoresStaticConfsAndNoticesEditsAndOverrides) {
  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
            "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  settle();
  auto first = core::read_status_conf(ctx, req);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->modules.size(), 1u);
  EXPECT_EQ(first->modules[0].install_location, "/updates/dkms"); // debian
  ASSERT_TRUE(util::exists(core::conf_cache_path(ctx, req)));

  // A forged record proves the next read comes from the cache...
  auto record = util::read_file(core::conf_cache_path(ctx, req));
  ASSERT_TRUE(record);
  std::string forged = *record;
  // The module record's destination name, just before its location.
  size_t at = forged.find("3:foo\n9:/kernel/x\n");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 6, "3:bar\n");
  ASSERT_TRUE(util::write_file_atomic(core::conf_cache_path(ctx, req), forged));
  auto cached = core::read_status_conf(ctx, req);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->modules[0].dest_name, "bar");
  // ...with the install location recomputed for the current distro.
  ctx.distro = "fedora";
  EXPECT_EQ(core::read_status_conf(ctx, req)->modules[0].install_location, "/extra");

  // An override appearing in /etc/dkms invalidates it.
  write_old(ctx.sys.etc_dkms + "/foo.conf", "DEST_MODULE_NAME[0]=baz\n");
  auto overridden = core::read_status_conf(ctx, req);
  ASSERT_TRUE(overridden);
  EXPECT_EQ(overridden->modules[0].dest_name, "baz");

  // So does editing the main file.
  util::remove_file(ctx.sys.etc_dkms + "/foo.conf");
  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
            "BUILT_MODULE_NAME[0]=qux\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  auto edited = core::read_status_conf(ctx, req);
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->modules[0].dest_name, "qux");
}

TEST_F(ConfCacheTest, NeverStoresDynamicInvalidOrRecentConfs) {
  const std::string cache = core::conf_cache_path(ctx, req);
  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=$(echo 1.0)\n"
            "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  settle();
  EXPECT_TRUE(core::read_status_conf(ctx, req));
  EXPECT_FALSE(util::exists(cache));

  write_old(req.main_file, "PACKAGE_NAME=foo\nBUILT_MODULE_NAME[0]=foo\n");
  settle();
  EXPECT_FALSE(core::read_status_conf(ctx, req)); // no version: invalid
  EXPECT_FALSE(util::exists(cache));

  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
            "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  EXPECT_TRUE(core::read_status_conf(ctx, req)); // just written
  EXPECT_FALSE(util::exists(cache));

  // Valid and static, but bash complains: an override assigning a readonly
  // variable (bash drops that file). Kept out, so it prints every time.
  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
            "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  write_old(ctx.sys.etc_dkms + "/foo.conf", "UID=1\n");
  settle();
  for (int run = 0; run < 2; ++run) {
    testing::internal::CaptureStderr();
    EXPECT_TRUE(core::read_status_conf(ctx, req));
    EXPECT_NE(testing::internal::GetCapturedStderr().find("readonly"), std::string::npos);
    EXPECT_FALSE(util::exists(cache));
  }
  util::remove_file(ctx.sys.etc_dkms + "/foo.conf");

  write_old(req.main_file,
            "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
            "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n");
  ctx.opts.directives = {"X=1"}; // a directive prints a line: never cached
  settle();
  EXPECT_TRUE(core::read_status_conf(ctx, req));
  EXPECT_FALSE(util::exists(cache));
}

// What install's dependency check reads (SPEC §2.14) survives the record:
// BUILD_DEPENDS words in index order, with any bytes, and the
// BUILD_DEPENDS_REBUILD flag; a damaged or older record is a miss.
TEST_F(ConfCacheTest, RecordKeepsBuildDependsAndRejectsDamagedRecords) {
  write_old(req.main_file, "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
                           "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n"
                           "BUILD_DEPENDS[3]=zeta\nBUILD_DEPENDS[1]=\"al pha\"\n"
                           "BUILD_DEPENDS_REBUILD=Yes\n");
  settle();
  const std::string path = core::conf_cache_path(ctx, req);
  EXPECT_FALSE(core::ConfRecord(ctx, req).load()); // nothing stored yet
  auto first = core::read_status_conf(ctx, req);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->build_depends, (std::vector<std::string>{"al pha", "zeta"}));
  EXPECT_TRUE(first->build_depends_rebuild);

  auto loaded = core::ConfRecord(ctx, req).load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->build_depends, (std::vector<std::string>{"al pha", "zeta"}));
  EXPECT_TRUE(loaded->build_depends_rebuild);
  ASSERT_EQ(loaded->modules.size(), 1u);
  EXPECT_EQ(loaded->modules[0].dest_name, "foo");

  auto record = util::read_file(path);
  ASSERT_TRUE(record);
  const std::string good = *record;
  // After the module records: the dependency words (count, words, flag),
  // then the evaluated values (names, each with its indices and values).
  const std::string deps = "1:2\n6:al pha\n4:zeta\n3:yes\n";
  const size_t at = good.find(deps);
  ASSERT_NE(at, std::string::npos) << good;
  const std::string head = good.substr(0, at);
  const std::string values = good.substr(at + deps.size());
  ASSERT_TRUE(util::starts_with(values, "1:6\n")) << values; // six names were set
  auto load_with = [&](const std::string& data) {
    EXPECT_TRUE(util::write_file_atomic(path, data));
    return core::ConfRecord(ctx, req).load();
  };
  auto values_with = [&](const std::string& data) {
    EXPECT_TRUE(util::write_file_atomic(path, data));
    return core::ConfRecord(ctx, req).load_values();
  };
  // A forged record shows the answer comes from it, not from bash.
  auto forged = load_with(head + "1:1\n3:b\nd\n2:no\n" + values);
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->build_depends, (std::vector<std::string>{"b\nd"}));
  EXPECT_FALSE(forged->build_depends_rebuild);
  forged = load_with(head + "1:0\n2:no\n" + values);
  ASSERT_TRUE(forged);
  EXPECT_TRUE(forged->build_depends.empty());
  auto forged_values =
      values_with(head + deps + "1:1\n4:MAKE\n1:2\n1:0\n2:m0\n1:7\n3:m\n7\n");
  ASSERT_TRUE(forged_values);
  EXPECT_EQ(*forged_values,
            (core::ShellValues{{"MAKE", core::ConfArray{{0, "m0"}, {7, "m\n7"}}}}));

  EXPECT_FALSE(load_with(head + "1:2\n6:al pha\n4:zeta\n" + values));          // no flag
  EXPECT_FALSE(load_with(head + "1:2\n6:al pha\n4:zeta\n5:maybe\n" + values)); // bad flag
  EXPECT_FALSE(load_with(head + "1:3\n6:al pha\n4:zeta\n3:yes\n" + values)); // short list
  EXPECT_FALSE(load_with(good + "x"));                      // trailing bytes
  EXPECT_FALSE(load_with(good.substr(0, good.size() - 1))); // cut short
  EXPECT_FALSE(load_with(head + deps));                     // no values
  EXPECT_FALSE(
      load_with(head + "5:12345\n6:al pha\n4:zeta\n3:yes\n" + values));     // huge count
  EXPECT_FALSE(values_with(head + deps + "1:1\n4:MAKE\n1:1\n2:x0\n1:a\n")); // bad index
  EXPECT_FALSE(values_with(head + deps + "1:1\n4:MAKE\n1:2\n1:0\n1:a\n"));  // short array
  // A record of the previous layout (no evaluated values) misses.
  std::string old = head + deps;
  const std::string format = "dkms-conf-cache 3";
  ASSERT_EQ(old.find(format), 3u);
  old.replace(3, format.size(), "dkms-conf-cache 2");
  EXPECT_FALSE(load_with(old));
  EXPECT_TRUE(load_with(good));
  EXPECT_TRUE(values_with(good));
}

// A build's strict read may take a recorded evaluation instead of bash: the
// values post-processed again give what evaluating gives, with the same
// effect on the environment; a strict read never takes one whose strict
// evaluation would have printed deprecation warnings.
TEST_F(ConfCacheTest, RecordedValuesStandInForBash) {
  write_old(req.main_file, "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
                           "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n"
                           "MAKE[0]=\"make KVER=$kernelver\"\nPATCH[2]=b.patch\n");
  settle();
  core::ConfRequest strict = req;
  strict.strictness = core::Strictness::strict;
  EXPECT_FALSE(core::ConfRecord(ctx, strict).load_values()); // nothing stored yet
  ASSERT_TRUE(core::read_status_conf(ctx, req));
  auto values = core::ConfRecord(ctx, strict).load_values();
  ASSERT_TRUE(values);
  EXPECT_EQ(values->at("MAKE").at(0), "make KVER=6.1.0-1-amd64");
  EXPECT_EQ(values->at("PATCH"), (core::ConfArray{{2, "b.patch"}}));

  setenv("MAKE", "from the environment", 1);
  core::ConfEvaluation recorded;
  recorded.recorded = &*values;
  auto from_record = core::read_dkms_conf(ctx, strict, nullptr, &recorded);
  EXPECT_EQ(getenv("MAKE"), nullptr); // dropped, as the evaluation does
  setenv("MAKE", "from the environment", 1);
  core::ConfEvaluation fresh;
  auto evaluated = core::read_dkms_conf(ctx, strict, nullptr, &fresh);
  EXPECT_EQ(getenv("MAKE"), nullptr);
  ASSERT_TRUE(from_record);
  ASSERT_TRUE(evaluated);
  ASSERT_TRUE(fresh.evaluated);
  EXPECT_EQ(*fresh.evaluated, *values);
  EXPECT_EQ(from_record->make_command, evaluated->make_command);
  EXPECT_EQ(from_record->patches, evaluated->patches);
  EXPECT_EQ(from_record->raw, evaluated->raw);
  ASSERT_EQ(from_record->modules.size(), 1u);
  EXPECT_EQ(from_record->modules[0].dest_name, evaluated->modules[0].dest_name);

  // CLEAN prints nothing leniently but a deprecation warning strictly.
  write_old(req.main_file, "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
                           "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n"
                           "CLEAN=\"make clean\"\n");
  settle();
  ASSERT_TRUE(core::read_status_conf(ctx, req));
  EXPECT_TRUE(core::ConfRecord(ctx, req).load_values());
  EXPECT_FALSE(core::ConfRecord(ctx, strict).load_values());
}

// A caller's evaluation is stored only when it really evaluated and printed
// nothing, and its text is printed as without the cache.
TEST_F(ConfCacheTest, ReadThroughStoresOnlySilentFreshEvaluations) {
  write_old(req.main_file, "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
                           "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/kernel/x\n"
                           "BUILD_DEPENDS[0]=bar\n");
  settle();
  const std::string path = core::conf_cache_path(ctx, req);
  core::ConfRecord reused(ctx, req);
  // The caller's evaluation is not handed over: nothing known to store.
  auto conf = reused.read_through(
      [&](core::ConfEvaluation&) { return core::read_dkms_conf(ctx, req); });
  ASSERT_TRUE(conf);
  EXPECT_FALSE(util::exists(path));

  core::ConfRecord noisy(ctx, req);
  testing::internal::CaptureStderr();
  conf = noisy.read_through([&](core::ConfEvaluation& evaluation) {
    ctx.out.err_line("a warning");
    return core::read_dkms_conf(ctx, req, nullptr, &evaluation);
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "a warning\n");
  ASSERT_TRUE(conf);
  EXPECT_FALSE(util::exists(path));

  core::ConfRecord quiet(ctx, req);
  conf = quiet.read_through([&](core::ConfEvaluation& evaluation) {
    return core::read_dkms_conf(ctx, req, nullptr, &evaluation);
  });
  ASSERT_TRUE(conf);
  ASSERT_TRUE(util::exists(path));
  auto loaded = core::ConfRecord(ctx, req).load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->build_depends, (std::vector<std::string>{"bar"}));
  EXPECT_FALSE(loaded->build_depends_rebuild);

  // A directive changes values: the record never answers then.
  ctx.opts.directives = {"BUILD_DEPENDS_REBUILD=yes"};
  EXPECT_FALSE(core::ConfRecord(ctx, req).load());
}

} // namespace
