#include "core/dkms_conf.hpp"
#include "core/exit.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <vector>

// Expected texts below come from SPEC §3 and §4.1 (checked against
// upstream 3.2.2), not from what this implementation printed.
namespace {

using core::ConfRequest;
using core::DkmsConf;
using core::Strictness;

constexpr const char* k_kernel = "6.1.0-56-amd64";

class DkmsConfTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto dir = util::make_temp_dir("/tmp", "dkms-conf-test-");
    ASSERT_TRUE(dir);
    m_root = *dir;
    ctx.settings.dkms_tree = m_root + "/var/lib/dkms";
    ctx.settings.source_tree = m_root + "/usr/src";
    ctx.settings.install_tree = m_root + "/lib/modules";
    ctx.settings.parallel_jobs = "1";
    ctx.sys.etc_dkms = m_root + "/etc/dkms";
    ctx.current_kernel = k_kernel;
    ASSERT_TRUE(util::mkdir_p(ctx.sys.etc_dkms));
    ASSERT_TRUE(util::mkdir_p(source_dir()));
  }
  void TearDown() override { util::remove_all(m_root); }

  std::string source_dir() const { return ctx.settings.dkms_tree + "/foo/1.0/source"; }
  std::string conf_path() const { return source_dir() + "/dkms.conf"; }
  std::string ksrc() const {
    return ctx.settings.install_tree + "/" + k_kernel + "/build";
  }

  void write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(util::mkdir_p(util::dirname(path)));
    ASSERT_TRUE(util::write_file_atomic(path, text));
  }
  void write_conf(const std::string& text) { write(conf_path(), text); }

  ConfRequest request(Strictness strictness = Strictness::lenient,
                      const std::string& kernel = k_kernel) const {
    ConfRequest r;
    r.module = "foo";
    r.version = "1.0";
    r.target = {kernel, "x86_64"};
    r.strictness = strictness;
    return r;
  }

  // Runs read_dkms_conf with output captured into m_out / m_err.
  std::optional<DkmsConf> read(const ConfRequest& r, core::ConfCache* cache = nullptr) {
    out.begin_capture();
    std::optional<DkmsConf> conf;
    try {
      conf = core::read_dkms_conf(ctx, r, cache);
    } catch (...) {
      collect();
      throw;
    }
    collect();
    return conf;
  }
  void collect() {
    m_out.clear();
    m_err.clear();
    for (const auto& chunk : out.end_capture()) {
      (chunk.stream == core::Stream::out ? m_out : m_err) += chunk.text;
    }
  }

  std::string m_root;
  core::Output out;
  core::Context ctx{out};
  std::string m_out;
  std::string m_err;
};

const char* k_basic = "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
                      "BUILT_MODULE_NAME[0]=foo\nDEST_MODULE_LOCATION[0]=/updates\n";

TEST_F(DkmsConfTest, PlainConf) {
  write_conf(k_basic);
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(m_err, "");
  EXPECT_EQ(m_out, "");
  EXPECT_EQ(conf->path, conf_path());
  EXPECT_EQ(conf->package_name, "foo");
  EXPECT_EQ(conf->package_version, "1.0");
  ASSERT_EQ(conf->modules.size(), 1u);
  EXPECT_EQ(conf->modules[0].built_name, "foo");
  EXPECT_EQ(conf->modules[0].built_location, "");
  EXPECT_EQ(conf->modules[0].dest_name, "foo");
  EXPECT_EQ(conf->modules[0].dest_location, "/updates");
  EXPECT_EQ(conf->modules[0].install_location, "/updates"); // no distro: raw location
  EXPECT_TRUE(conf->modules[0].strip);
  // SPEC §3.6 step 3: the generic command.
  EXPECT_EQ(conf->make_command,
            "make -C " + ksrc() + " M=" + ctx.settings.dkms_tree + "/foo/1.0/build");
  EXPECT_TRUE(conf->patches.empty());
  EXPECT_FALSE(conf->excluded);
  EXPECT_FALSE(conf->autoinstall);
}

TEST_F(DkmsConfTest, MainFileSelection) {
  write_conf(k_basic);
  std::string other = m_root + "/other.conf";
  write(other, "PACKAGE_NAME=other\nPACKAGE_VERSION=2\n");
  ctx.opts.conf_file = other; // -c wins over DT/m/v/source/dkms.conf
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->package_name, "other");
  auto r = request();
  r.main_file = conf_path(); // an explicit path wins over -c
  conf = read(r);
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->package_name, "foo");
}

TEST_F(DkmsConfTest, ArraysAndDefaults) {
  write_conf("PACKAGE_NAME=pkg\nPACKAGE_VERSION=1.0\n"
             "BUILT_MODULE_NAME[0]=a\nBUILT_MODULE_LOCATION[0]=src\n"
             "DEST_MODULE_LOCATION[0]=/kernel/drivers\nSTRIP[0]=no\n"
             "BUILT_MODULE_NAME[1]=b\nDEST_MODULE_NAME[1]=bee\n"
             "DEST_MODULE_LOCATION[1]=/extra\nSTRIP[1]=\n"
             "BUILT_MODULE_NAME[2]=c\nDEST_MODULE_LOCATION[2]=/extra\nSTRIP[2]=Yes\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  ASSERT_EQ(conf->modules.size(), 3u);
  EXPECT_EQ(conf->modules[0].built_location, "src/"); // '/' appended
  EXPECT_EQ(conf->modules[0].dest_name, "a");         // defaults to the built name
  EXPECT_FALSE(conf->modules[0].strip);
  EXPECT_EQ(conf->modules[1].dest_name, "bee");
  EXPECT_FALSE(conf->modules[1].strip); // empty STRIP follows slot 0
  EXPECT_TRUE(conf->modules[2].strip);
}

TEST_F(DkmsConfTest, BuiltNameDefaultsToPackageNameWithOneSlot) {
  write_conf("PACKAGE_NAME=pkg\nPACKAGE_VERSION=1.0\nDEST_MODULE_LOCATION=/updates\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  ASSERT_EQ(conf->modules.size(), 1u);
  EXPECT_EQ(conf->modules[0].built_name, "pkg");
  EXPECT_EQ(conf->modules[0].dest_name, "pkg");
}

TEST_F(DkmsConfTest, EmptyFile) {
  write_conf("");
  EXPECT_FALSE(read(request()));
  EXPECT_EQ(m_err, "dkms.conf: Error! No 'PACKAGE_NAME' directive specified.\n"
                   "dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.\n");
}

TEST_F(DkmsConfTest, SparseArraysMessageOrder) {
  write_conf("PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
             "BUILT_MODULE_NAME[1]=one\nBUILT_MODULE_NAME[3]=three\n"
             "DEST_MODULE_LOCATION[1]=/updates\nDEST_MODULE_LOCATION[3]=/updates\n"
             "DEST_MODULE_LOCATION[4]=\"/oops\"\n");
  EXPECT_FALSE(read(request()));
  EXPECT_EQ(
      m_err,
      "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #0.\n"
      "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #0.\n"
      "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #2.\n"
      "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #2.\n"
      "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #4.\n"
      "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with\n"
      "'/kernel', '/updates', or '/extra' in record #4.\n");
}

TEST_F(DkmsConfTest, ObjectSuffixes) {
  write_conf("PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\nBUILT_MODULE_NAME=foo.ko\n"
             "DEST_MODULE_NAME=bar.o\nDEST_MODULE_LOCATION=/updates-dkms-test\n");
  EXPECT_FALSE(read(request()));
  EXPECT_EQ(m_err, "dkms.conf: Error! 'BUILT_MODULE_NAME' directive ends in '.o' or "
                   "'.ko' in record #0.\n"
                   "dkms.conf: Error! 'DEST_MODULE_NAME' directive ends in '.o' or '.ko' "
                   "in record #0.\n");
}

TEST_F(DkmsConfTest, CrlfLineEndings) {
  write_conf("PACKAGE_NAME=foo\r\nPACKAGE_VERSION=1.0\r\nBUILT_MODULE_NAME[0]=foo\r\n"
             "DEST_MODULE_LOCATION[0]=/updates\r\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(conf->package_version, "1.0");
  EXPECT_EQ(conf->modules[0].dest_location, "/updates");
}

TEST_F(DkmsConfTest, KernelVersionInValuesAndStatements) {
  write_conf(std::string(k_basic) +
             "POST_BUILD=\"post $kernelver $arch\"\n"
             "case $kernelver in 6.1.*) PRE_BUILD=old ;; *) PRE_BUILD=new ;; esac\n"
             "if [[ $kernel_source_dir == */build ]]; then POST_ADD=ksrc; fi\n"
             "PRE_INSTALL=\"$module/$module_version\"\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(conf->post_build, std::string("post ") + k_kernel + " x86_64");
  EXPECT_EQ(conf->pre_build, "old");
  EXPECT_EQ(conf->post_add, "ksrc");
  EXPECT_EQ(conf->pre_install, "foo/1.0");
  conf = read(request(Strictness::lenient, "6.12.117+deb12-amd64"));
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->pre_build, "new");
}

TEST_F(DkmsConfTest, SecondExpansion) {
  write_conf(std::string(k_basic) +
             "MAKE=\"make KCFLAGS=\\\"-DX\\\"\"\n" // MAKE="make KCFLAGS=\"-DX\""
             "PRE_BUILD='$kernelver'\n"            // single quotes do not protect
             "POST_BUILD=\"$(echo sub  shell)\"\n" // $(...) runs
             "POST_ADD='a    b'\n");               // whitespace runs collapse
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(conf->make_command, "make KCFLAGS=-DX");
  EXPECT_EQ(conf->pre_build, k_kernel);
  EXPECT_EQ(conf->post_build, "sub shell");
  EXPECT_EQ(conf->post_add, "a b");
}

TEST_F(DkmsConfTest, HelpersFunctionsAndOutputStayInside) {
  write_conf(std::string(k_basic) + "helper=value\nPOST_ADD=\"x$helper\"\n"
                                    "myfn() { echo fn; }\nPRE_BUILD=\"$(myfn)\"\n"
                                    "echo this-goes-nowhere\necho to-stderr >&2\ncd /\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->post_add, "xvalue");
  EXPECT_EQ(conf->pre_build, "fn");
  EXPECT_EQ(conf->raw.count("helper"), 0u);
  EXPECT_EQ(m_out, "");
  EXPECT_EQ(m_err, "to-stderr\n"); // stderr passes through (capture mode here)
}

TEST_F(DkmsConfTest, QuoteInValueBreaksOnlyTheRestOfThatText) {
  // Phase B sees PRE_BUILD[0]="x"y" and an unterminated quote: names that
  // upstream emits after PRE_BUILD (module records, PRE_INSTALL) are lost,
  // earlier ones survive, and the evaluation goes on (checked against
  // upstream's safe_source()).
  write_conf(std::string(k_basic) +
             "POST_ADD=early\nPRE_BUILD='x\"y'\nPRE_INSTALL=late\n");
  ctx.opts.directives = {"DKMS_CONF_TEST_AFTER=1"};
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->package_name, "foo");
  EXPECT_EQ(conf->post_add, "early");
  EXPECT_EQ(conf->pre_build, "");
  EXPECT_EQ(conf->pre_install, "");
  EXPECT_TRUE(conf->modules.empty());
  EXPECT_EQ(m_out, "DIRECTIVE: DKMS_CONF_TEST_AFTER=\"1\"\n");
  EXPECT_NE(m_err.find("unexpected EOF"), std::string::npos) << m_err;
  unsetenv("DKMS_CONF_TEST_AFTER");
}

TEST_F(DkmsConfTest, PositionalParameterIsTheNameList) {
  // Upstream sources with "$1" = its list of names (first line alone).
  write_conf(std::string(k_basic) + "first=\"${1%%$'\\n'*}\"\nPOST_ADD=\"$first $#\"\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->post_add, "PACKAGE_NAME 1");
}

TEST_F(DkmsConfTest, EtcOverrides) {
  write_conf(std::string(k_basic) + "POST_ADD=main\nPOST_BUILD=main\nPRE_BUILD=main\n");
  const std::string etc = ctx.sys.etc_dkms;
  write(etc + "/foo.conf", "POST_ADD=m\nPOST_BUILD=m\nPRE_BUILD=m\nPRE_INSTALL=m\n");
  write(etc + "/foo-1.0-" + std::string(k_kernel) + ".conf",
        "POST_BUILD=mvk\nPRE_BUILD=mvk\n");
  write(etc + "/foo--" + std::string(k_kernel) + ".conf",
        "PRE_BUILD=\"mk-$kernelver\"\n");
  write(etc + "/bar.conf", "POST_ADD=other-module\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(conf->post_add, "m");
  EXPECT_EQ(conf->post_build, "mvk");
  EXPECT_EQ(conf->pre_build, std::string("mk-") + k_kernel);
  EXPECT_EQ(conf->pre_install, "m");
}

TEST_F(DkmsConfTest, Directives) {
  write_conf(k_basic);
  ctx.opts.directives = {"PACKAGE_VERSION=9.9", "DKMS_CONF_TEST_VAR=a=b"};
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_EQ(m_out, "DIRECTIVE: PACKAGE_VERSION=\"9.9\"\n"
                   "DIRECTIVE: DKMS_CONF_TEST_VAR=\"a=b\"\n");
  EXPECT_EQ(conf->package_version, "9.9");
  const char* env = getenv("DKMS_CONF_TEST_VAR");
  ASSERT_NE(env, nullptr);
  EXPECT_STREQ(env, "a=b");
  // Accepted names are cleared from the environment on the next evaluation.
  ctx.opts.directives.clear();
  conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->package_version, "1.0");
  EXPECT_EQ(getenv("PACKAGE_VERSION"), nullptr);
  unsetenv("DKMS_CONF_TEST_VAR");
}

TEST_F(DkmsConfTest, CacheSkipsReevaluation) {
  write_conf(k_basic);
  ctx.opts.directives = {"DKMS_CONF_TEST_CACHE=1"};
  core::ConfCache cache;
  ASSERT_TRUE(read(request(), &cache));
  EXPECT_EQ(m_out, "DIRECTIVE: DKMS_CONF_TEST_CACHE=\"1\"\n");
  ASSERT_TRUE(read(request(), &cache));
  EXPECT_EQ(m_out, ""); // cached: no DIRECTIVE line
  ASSERT_TRUE(read(request(Strictness::lenient, "6.12.117+deb12-amd64"), &cache));
  EXPECT_EQ(m_out, "DIRECTIVE: DKMS_CONF_TEST_CACHE=\"1\"\n");
  unsetenv("DKMS_CONF_TEST_CACHE");
}

TEST_F(DkmsConfTest, MakeMatch) {
  write_conf(std::string(k_basic) + "MAKE[0]='make zero'\nMAKE_MATCH[0]='^6\\.12'\n"
                                    "MAKE[1]='make one'\nMAKE_MATCH[1]='^6\\.1\\.'\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command, "make one");
  conf = read(request(Strictness::lenient, "6.12.117+deb12-amd64"));
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command, "make zero");
  // MAKE_MATCH[0] set and no match: the generic command.
  conf = read(request(Strictness::lenient, "5.10.0-1-amd64"));
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command.rfind("make -C ", 0), 0u);
}

TEST_F(DkmsConfTest, MakeMatchSparseCountCaveat) {
  // Two elements (indices 0 and 5): the loop stops at the count, 2.
  write_conf(std::string(k_basic) + "MAKE[0]='make plain'\n"
                                    "MAKE[5]='make five'\nMAKE_MATCH[5]='.*'\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command, "make plain");
}

TEST_F(DkmsConfTest, LlvmFromKernelConfig) {
  write_conf(k_basic);
  write(ksrc() + "/.config", "CONFIG_X=y\nCONFIG_CC_IS_CLANG=y\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command, "make -C " + ksrc() + " M=" + ctx.settings.dkms_tree +
                                    "/foo/1.0/build LLVM=1");
}

TEST_F(DkmsConfTest, LlvmFromVmlinuxComment) {
  if (core::find_in_path("objcopy").empty() || core::find_in_path("readelf").empty()) {
    GTEST_SKIP() << "needs objcopy and readelf";
  }
  write_conf(k_basic);
  // vmlinux exists: its .comment decides, KCONF is not consulted.
  write(ksrc() + "/.config", "CONFIG_CC_IS_CLANG=y\n");
  const std::string vmlinux = ksrc() + "/vmlinux";
  ASSERT_TRUE(util::copy_file("/bin/true", vmlinux));
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->make_command.find("LLVM=1"), std::string::npos);

  write(m_root + "/comment", std::string("clang version 16.0.6\0", 21));
  auto r = core::run_capture({"objcopy", "--add-section",
                              ".comment=" + m_root + "/comment", "--set-section-flags",
                              ".comment=noload,readonly", "/bin/true", vmlinux});
  ASSERT_EQ(r.status, 0) << r.output;
  conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_TRUE(util::ends_with(conf->make_command, "/foo/1.0/build LLVM=1"))
      << conf->make_command;
}

TEST_F(DkmsConfTest, PatchMatch) {
  write_conf(std::string(k_basic) + "PATCH[0]=all.patch\n"
                                    "PATCH[1]=new.patch\nPATCH_MATCH[1]='^6\\.12'\n"
                                    "PATCH[2]=old.patch\nPATCH_MATCH[2]='^6\\.1\\.'\n"
                                    "PATCH[7]=never.patch\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->patches, (std::vector<std::string>{"all.patch", "old.patch"}));
  conf = read(request(Strictness::lenient, "6.12.117+deb12-amd64"));
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->patches, (std::vector<std::string>{"all.patch", "new.patch"}));
}

TEST_F(DkmsConfTest, BuildExclusive) {
  auto excluded = [&](const std::string& extra, const std::string& kernel = k_kernel) {
    write_conf(std::string(k_basic) + extra);
    auto conf = read(request(Strictness::lenient, kernel));
    EXPECT_TRUE(conf) << m_err;
    return conf && conf->excluded;
  };
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_KERNEL='^6\\.1\\.'\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_KERNEL='^6\\.12'\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_KERNEL_MIN=6.2\n"));
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_KERNEL_MIN=6.1\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_KERNEL_MAX=5.10\n"));
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_KERNEL_MAX=6.12\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_ARCH=aarch64\n"));
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_ARCH='x86_.*'\n"));
  EXPECT_TRUE(excluded("build_exclude=yes\n"));
  // No KCONF file: CONFIG words exclude nothing.
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_CONFIG='CONFIG_MISSING'\n"));
  write(ksrc() + "/.config", "CONFIG_ON=y\nCONFIG_MOD=m\n# CONFIG_OFF is not set\n");
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_CONFIG='CONFIG_ON CONFIG_MOD !CONFIG_OFF'\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_CONFIG='CONFIG_ON CONFIG_OFF'\n"));
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_CONFIG='!CONFIG_MOD'\n"));
  // auto.conf takes precedence over .config.
  write(ksrc() + "/include/config/auto.conf", "CONFIG_OFF=y\n");
  EXPECT_TRUE(excluded("BUILD_EXCLUSIVE_CONFIG='CONFIG_ON'\n"));
  EXPECT_FALSE(excluded("BUILD_EXCLUSIVE_CONFIG='CONFIG_OFF'\n"));
}

TEST_F(DkmsConfTest, ObsoleteBy) {
  write_conf(std::string(k_basic) + "OBSOLETE_BY=6.1.0\n");
  auto conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->obsolete_by, "6.1.0");
  EXPECT_TRUE(conf->excluded); // VER(6.1.0-56-amd64) > VER(6.1.0)
  conf = read(request(Strictness::lenient, "6.0.1"));
  ASSERT_TRUE(conf);
  EXPECT_FALSE(conf->excluded);
  // An explicit MAX takes precedence.
  write_conf(std::string(k_basic) + "OBSOLETE_BY=6.1.0\nBUILD_EXCLUSIVE_KERNEL_MAX=7\n");
  conf = read(request());
  ASSERT_TRUE(conf);
  EXPECT_FALSE(conf->excluded);
}

TEST_F(DkmsConfTest, YesNoValues) {
  write_conf(std::string(k_basic) + "AUTOINSTALL=YeS\nNO_WEAK_MODULES=no\n");
  auto conf = read(request());
  ASSERT_TRUE(conf) << m_err;
  EXPECT_TRUE(conf->autoinstall);
  EXPECT_FALSE(conf->no_weak_modules);
  EXPECT_FALSE(conf->build_depends_rebuild);
  write_conf(std::string(k_basic) + "AUTOINSTALL=maybe\nBUILD_DEPENDS_REBUILD=yes\n");
  EXPECT_FALSE(read(request()));
  EXPECT_EQ(m_err, "dkms.conf: Error! Unsupported AUTOINSTALL value 'maybe'\n");
}

TEST_F(DkmsConfTest, StrictZeroModules) {
  write_conf("PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n");
  auto conf = read(request(Strictness::strict));
  ASSERT_TRUE(conf);
  EXPECT_TRUE(conf->modules.empty());
  EXPECT_EQ(m_err, "dkms.conf: Warning! Zero modules specified.\n");
  conf = read(request(Strictness::lenient));
  ASSERT_TRUE(conf);
  EXPECT_EQ(m_err, "");
}

TEST_F(DkmsConfTest, StrictDuplicates) {
  write_conf(
      "PACKAGE_NAME=foo\nPACKAGE_VERSION=1.0\n"
      "BUILT_MODULE_NAME[0]=a\nDEST_MODULE_LOCATION[0]=/updates\n"
      "BUILT_MODULE_NAME[1]=a\nDEST_MODULE_NAME[1]=b\nDEST_MODULE_LOCATION[1]=/updates\n"
      "BUILT_MODULE_NAME[2]=b\nBUILT_MODULE_LOCATION[2]=sub\n"
      "DEST_MODULE_LOCATION[2]=/updates\n");
  EXPECT_TRUE(read(request(Strictness::lenient)));
  core::ConfCache cache;
  EXPECT_FALSE(read(request(Strictness::strict), &cache));
  const std::string expected =
      "dkms.conf: Error! Duplicate module 'a' in 'BUILT_MODULE_NAME[1]'.\n"
      "dkms.conf: Error! Duplicate module 'b' in 'DEST_MODULE_NAME[2]'.\n";
  EXPECT_EQ(m_err, expected);
  // The evaluation itself succeeded, so it is cached; strict checks run again.
  EXPECT_FALSE(read(request(Strictness::strict), &cache));
  EXPECT_EQ(m_err, expected);
}

TEST_F(DkmsConfTest, StrictDeprecations) {
  write_conf(std::string(k_basic) + "CLEAN='make clean'\nREMAKE_INITRD=no\n");
  write(ctx.sys.etc_dkms + "/foo.conf", "MODULES_CONF[0]=x\n");
  auto conf = read(request(Strictness::strict));
  ASSERT_TRUE(conf) << m_err;
  const std::string over = ctx.sys.etc_dkms + "/foo.conf";
  EXPECT_EQ(m_err, "Deprecated feature: CLEAN (" + conf_path() + ")\n" +
                       "Deprecated feature: REMAKE_INITRD (" + conf_path() + ")\n" +
                       "Deprecated feature: CLEAN (" + over + ")\n" +
                       "Deprecated feature: REMAKE_INITRD (" + over + ")\n" +
                       "Deprecated feature: MODULES_CONF (" + over + ")\n");
  conf = read(request(Strictness::lenient));
  ASSERT_TRUE(conf);
  EXPECT_EQ(m_err, "");
  // CLEAN=true is accepted silently.
  util::remove_file(over);
  write_conf(std::string(k_basic) + "CLEAN=/bin/true\n");
  ASSERT_TRUE(read(request(Strictness::strict)));
  EXPECT_EQ(m_err, "");
}

TEST_F(DkmsConfTest, MissingFileExits4) {
  try {
    read(request());
    FAIL() << "expected Exit";
  } catch (const core::Exit& e) {
    EXPECT_EQ(e.code, 4);
  }
  EXPECT_EQ(m_err, "\nError! Could not locate dkms.conf file.\nFile: " + conf_path() +
                       " does not exist.\n");
}

TEST_F(DkmsConfTest, RequireExits8) {
  write_conf("");
  out.begin_capture();
  int code = 0;
  try {
    core::require_dkms_conf(ctx, request(), nullptr, "");
  } catch (const core::Exit& e) {
    code = e.code;
  }
  collect();
  EXPECT_EQ(code, 8);
  EXPECT_EQ(m_err, "dkms.conf: Error! No 'PACKAGE_NAME' directive specified.\n"
                   "dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.\n"
                   "\nError! Bad conf file.\n"
                   "File:  does not represent a valid dkms.conf file.\n");
}

TEST_F(DkmsConfTest, EffectiveLocation) {
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/kernel/x");
  ctx.distro = "debian";
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/updates/dkms");
  ctx.distro = "rhel centos fedora";
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/extra");
  ctx.distro = "opensuse suse";
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/updates");
  ctx.distro = "alpine";
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/kernel/x");
  ctx.addon_modules_dir = "addon";
  EXPECT_EQ(core::effective_location(ctx, "/kernel/x"), "/addon");
}

TEST_F(DkmsConfTest, FrameworkFiles) {
  const std::string etc = ctx.sys.etc_dkms;
  write(etc + "/framework.conf", "dkms_tree=/first\nparallel_jobs=3\n"
                                 "helper=abc\nsign_file=/unrequested\n"
                                 "do_status() { echo hijacked; }\n");
  write(etc + "/framework.conf.d/b.conf", "dkms_tree=/second\n");
  write(etc + "/framework.conf.d/a.conf",
        "dkms_tree=/ignored-by-b\nmok_signing_key=\"/k/$kernelver\"\r\n"
        "post_transaction=\"x$helper$(do_status 2>/dev/null)\"\n");
  write(etc + "/framework.conf.d/c.txt", "parallel_jobs=9\n");
  auto values = core::read_framework(
      ctx, {"dkms_tree", "parallel_jobs", "mok_signing_key", "post_transaction"},
      "6.1.0-x");
  EXPECT_EQ(values["dkms_tree"], "/second");
  EXPECT_EQ(values["parallel_jobs"], "3");
  EXPECT_EQ(values["mok_signing_key"], "/k/6.1.0-x");
  EXPECT_EQ(values["post_transaction"], "x"); // helpers and functions do not leak
  EXPECT_EQ(values.count("sign_file"), 0u);
}

TEST_F(DkmsConfTest, FrameworkAbsent) {
  EXPECT_TRUE(core::read_framework(ctx, {"dkms_tree"}, "").empty());
}

} // namespace
