#include "../test_support.hpp"
#include "cli/options.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using test_support::Captured;
using test_support::TestContext;

// Usage text of SPEC §1.6 for argv0 "/usr/sbin/dkms".
const char* const k_usage =
    "Usage: /usr/sbin/dkms [action] [options]\n"
    "  [action]  = { add | remove | build | unbuild | install | uninstall | match |\n"
    "               autoinstall | mktarball | ldtarball | status | generate_mok |\n"
    "               kernel_preinst | kernel_postinst | kernel_prerm }\n"
    "  [options] = [-m module] [-v module-version] [-k kernel-version] [-a arch]\n"
    "              [-c dkms.conf-location] [-q] [--force] [--force-version-override] "
    "[--all]\n"
    "              [--templatekernel=kernel] [--directive='cli-directive=cli-value']\n"
    "              [--config=kernel-include/config/auto.conf-location] "
    "[--archive=tarball-location]\n"
    "              [--kernelsourcedir=source-location] [--rpm_safe_upgrade]\n"
    "              [--dkmstree path] [--sourcetree path] [--installtree path]\n"
    "              [--binaries-only] [--source-only] [--verbose]\n"
    "              [--no-depmod] [--modprobe-on-install] [-j number] [--version] "
    "[--help]\n";

class ParseTest : public ::testing::Test {
protected:
  ParseTest() { t.ctx.argv0 = "/usr/sbin/dkms"; }

  cli::ParseResult parse(const std::vector<std::string>& args) {
    t.begin_capture();
    cli::ParseResult r = cli::parse_command_line(t.ctx, args);
    cap = t.end_capture();
    return r;
  }

  core::Options& opts() { return t.ctx.opts; }

  TestContext t;
  Captured cap;
};

using Strings = std::vector<std::string>;

void expect_runs_silently(const cli::ParseResult& r, const Captured& cap) {
  EXPECT_EQ(r.outcome, cli::ParseOutcome::run);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(cap.merged, "");
}

// ---- actions -------------------------------------------------------------

TEST_F(ParseTest, EveryActionOfTheRegexIsRecognised) {
  for (const char* action :
       {"remove", "install", "autoinstall", "uninstall", "match", "mktarball", "build",
        "unbuild", "add", "status", "ldtarball", "generate_mok", "kernel_preinst",
        "kernel_postinst", "kernel_prerm"}) {
    TestContext fresh;
    auto r = cli::parse_command_line(fresh.ctx, {action});
    EXPECT_EQ(r.outcome, cli::ParseOutcome::run) << action;
    EXPECT_EQ(fresh.ctx.opts.action, action);
    EXPECT_EQ(fresh.ctx.opts.module, "") << action;
  }
}

TEST_F(ParseTest, NearMissesAndRemovedActionsBecomeTheModule) {
  // The regex is anchored: these fall through to module/version (rule 5).
  for (const char* word : {"mkrpm", "mkdeb", "builds", "xbuild", "Build", "kernel_"}) {
    TestContext fresh;
    auto r = cli::parse_command_line(fresh.ctx, {word});
    EXPECT_EQ(r.outcome, cli::ParseOutcome::run) << word;
    EXPECT_EQ(fresh.ctx.opts.action, "") << word;
    EXPECT_EQ(fresh.ctx.opts.module, word);
  }
}

TEST_F(ParseTest, SecondActionIsExit4) {
  auto r = parse({"build", "-m", "foo", "install"});
  EXPECT_EQ(r.outcome, cli::ParseOutcome::exit_now);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(cap.err, "\nError! Cannot specify more than one action.\n");
  EXPECT_EQ(cap.out, "");
  // Even the same action twice counts as two.
  EXPECT_EQ(parse({"add", "add"}).exit_code, 4);
  EXPECT_EQ(cap.err, "\nError! Cannot specify more than one action.\n");
}

// ---- --version, --help, unknown options ----------------------------------

TEST_F(ParseTest, VersionPrintsReleaseAndStops) {
  for (const char* flag : {"--version", "-V"}) {
    TestContext fresh;
    fresh.begin_capture();
    // Parsing stops at once: the unknown option after it is never seen.
    auto r = cli::parse_command_line(fresh.ctx, {"build", flag, "--bogus"});
    Captured c = fresh.end_capture();
    EXPECT_EQ(r.outcome, cli::ParseOutcome::exit_now) << flag;
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_EQ(c.out, "dkms-3.2.2\n") << flag;
    EXPECT_EQ(c.err, "") << flag;
  }
}

TEST_F(ParseTest, HelpPrintsUsageWithArgv0) {
  auto r = parse({"--help", "--bogus"});
  EXPECT_EQ(r.outcome, cli::ParseOutcome::exit_now);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(cap.out, k_usage);
  EXPECT_EQ(cap.err, "");

  r = parse({"-h"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(cap.out, k_usage);
}

TEST_F(ParseTest, PrintUsageUsesTheInvokedPath) {
  t.ctx.argv0 = "./dkms";
  t.begin_capture();
  cli::print_usage(t.ctx);
  Captured c = t.end_capture();
  EXPECT_EQ(c.out.substr(0, c.out.find('\n')), "Usage: ./dkms [action] [options]");
  EXPECT_EQ(c.err, "");
}

TEST_F(ParseTest, UnknownOptionsExit2WithErrorThenUsage) {
  // Short options take only a separate value; removed options are unknown;
  // exact-match flags do not accept suffixes.
  for (const char* token :
       {"-j4", "-k=5.10", "-m=foo", "-afoo", "--", "-", "--dkmsframework", "--media=x",
        "-r", "--distro", "--allx", "--forced", "--verbosely", "-x"}) {
    auto r = parse({"build", token, "-m", "foo"});
    EXPECT_EQ(r.outcome, cli::ParseOutcome::exit_now) << token;
    EXPECT_EQ(r.exit_code, 2) << token;
    EXPECT_EQ(cap.err, std::string("\nError! Unknown option: ") + token + "\n");
    EXPECT_EQ(cap.out, k_usage) << token;
    // The error goes out before the usage text.
    ASSERT_FALSE(cap.chunks.empty());
    EXPECT_EQ(cap.chunks.front().stream, core::Stream::err) << token;
    // Nothing after the bad token was parsed.
    EXPECT_EQ(t.ctx.opts.module, "") << token;
    t.ctx.opts = {};
  }
}

// ---- value-taking options -------------------------------------------------

TEST_F(ParseTest, ShortOptionsTakeTheNextArgument) {
  auto r = parse({"-m", "foo", "-v", "1.0", "-k", "6.1.0", "-a", "x86_64", "-c",
                  "/x/dkms.conf", "-j", "3"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "1.0");
  EXPECT_EQ(opts().kernels, Strings{"6.1.0"});
  EXPECT_EQ(opts().arches, Strings{"x86_64"});
  EXPECT_EQ(opts().conf_file, "/x/dkms.conf");
  EXPECT_EQ(t.ctx.settings.parallel_jobs, "3");
}

TEST_F(ParseTest, ValueIsTakenEvenIfItLooksLikeAnOption) {
  auto r = parse({"-m", "--force", "-v", "build"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "--force");
  EXPECT_FALSE(opts().force);
  EXPECT_EQ(opts().version, "build");
  EXPECT_EQ(opts().action, "");
}

TEST_F(ParseTest, MissingValueAtTheEndIsEmpty) {
  auto r = parse({"-k"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().kernels, Strings{""});

  t.ctx.opts = {};
  r = parse({"build", "--arch"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().action, "build");
  EXPECT_EQ(opts().arches, Strings{""});
}

TEST_F(ParseTest, LongOptionsArePrefixPatternsWithEqualsOrNextArgument) {
  auto r =
      parse({"--module=foo/2.0", "--kernelver", "6.1.0/aarch64", "--kernelversion=5.10",
             "--architecture=x86_64", "--templatekernel=6.12", "--config", "/k/.config",
             "--kernelsourcedir=/k/src", "--directive=A=B=C", "--directives", "X=1",
             "--dkmstree=/dt", "--sourcetree", "/st", "--installtree=/it"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "2.0");
  EXPECT_EQ(opts().kernels, (Strings{"6.1.0", "5.10"}));
  EXPECT_EQ(opts().arches, (Strings{"aarch64", "x86_64"}));
  EXPECT_EQ(opts().template_kernel, "6.12");
  EXPECT_EQ(opts().kernel_config, "/k/.config");
  EXPECT_EQ(opts().kernel_source_dir, "/k/src");
  // The value starts after the first '='.
  EXPECT_EQ(opts().directives, (Strings{"A=B=C", "X=1"}));
  EXPECT_EQ(t.ctx.settings.dkms_tree, "/dt");
  EXPECT_EQ(t.ctx.settings.source_tree, "/st");
  EXPECT_EQ(t.ctx.settings.install_tree, "/it");
}

TEST_F(ParseTest, ArchiveIsTestedBeforeArch) {
  auto r = parse({"--archive=/tmp/a.tar.gz", "--arch=x86_64"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().archive, "/tmp/a.tar.gz");
  EXPECT_EQ(opts().arches, Strings{"x86_64"});

  t.ctx.opts = {};
  r = parse({"--archives", "b.tgz"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().archive, "b.tgz");
  EXPECT_TRUE(opts().arches.empty());
}

TEST_F(ParseTest, ValuesKeepOnlyTheirFirstLineTrimmed) {
  auto r = parse({"-m", "  foo/1.0 \t\nbar/2", "--arch=\tx86_64 \nother", "-c",
                  "  /p/dkms.conf  ", "-j", " 4 ", "--directive= A=b c \nD=e"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "1.0");
  EXPECT_EQ(opts().arches, Strings{"x86_64"});
  EXPECT_EQ(opts().conf_file, "/p/dkms.conf");
  EXPECT_EQ(t.ctx.settings.parallel_jobs, "4");
  EXPECT_EQ(opts().directives, Strings{"A=b c"});
}

TEST_F(ParseTest, KernelArchAppendsToTheArchList) {
  // SPEC §1.1 quirk: arches are one list, so k1 gets no arch of its own.
  auto r = parse({"-k", "k1", "-k", "k2/a2"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().kernels, (Strings{"k1", "k2"}));
  EXPECT_EQ(opts().arches, Strings{"a2"});

  t.ctx.opts = {};
  parse({"-a", "a0", "-k", "k1/a1/x", "-a", "a2"});
  EXPECT_EQ(opts().kernels, Strings{"k1"});
  EXPECT_EQ(opts().arches, (Strings{"a0", "a1/x", "a2"}));

  t.ctx.opts = {};
  parse({"-k", "/x86_64"});
  EXPECT_EQ(opts().kernels, Strings{""});
  EXPECT_EQ(opts().arches, Strings{"x86_64"});
}

TEST_F(ParseTest, ModuleVersionSplitsAtTheFirstSlash) {
  auto r = parse({"-m", "m/v/K/A"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "m");
  EXPECT_EQ(opts().version, "v/K/A");
}

TEST_F(ParseTest, LastOfModuleSlashVersionAndDashVWins) {
  parse({"-m", "foo/2", "-v", "3"});
  EXPECT_EQ(opts().version, "3");

  t.ctx.opts = {};
  parse({"-v", "3", "-m", "foo/2"});
  EXPECT_EQ(opts().version, "2");

  // Without a slash the version is left alone.
  t.ctx.opts = {};
  parse({"-v", "3", "-m", "bar"});
  EXPECT_EQ(opts().module, "bar");
  EXPECT_EQ(opts().version, "3");
}

TEST(ParseModuleVersion, Forms) {
  core::Options o;
  cli::parse_module_version("a/b/c", o);
  EXPECT_EQ(o.module, "a");
  EXPECT_EQ(o.version, "b/c");

  cli::parse_module_version("x", o);
  EXPECT_EQ(o.module, "x");
  EXPECT_EQ(o.version, "b/c");

  cli::parse_module_version("/abs/dir", o);
  EXPECT_EQ(o.module, "");
  EXPECT_EQ(o.version, "abs/dir");

  cli::parse_module_version("m/", o);
  EXPECT_EQ(o.module, "m");
  EXPECT_EQ(o.version, "");
}

// ---- flags ----------------------------------------------------------------

TEST_F(ParseTest, FlagsSetTheirOptions) {
  auto r = parse({"--force", "--force-version-override", "--all", "--binaries-only",
                  "--source-only", "--verbose", "--rpm_safe_upgrade", "--symlink-modules",
                  "--no-depmod", "--modprobe-on-install", "--debug"});
  expect_runs_silently(r, cap);
  EXPECT_TRUE(opts().force);
  EXPECT_TRUE(opts().force_version_override);
  EXPECT_TRUE(opts().all);
  EXPECT_TRUE(opts().binaries_only);
  EXPECT_TRUE(opts().source_only);
  EXPECT_TRUE(opts().rpm_safe_upgrade);
  EXPECT_TRUE(t.ctx.verbose());
  EXPECT_FALSE(t.ctx.settings.symlink_modules.empty());
  EXPECT_TRUE(t.ctx.settings.no_depmod);
  EXPECT_FALSE(t.ctx.settings.modprobe_on_install.empty());
}

TEST_F(ParseTest, FlagsDefaultOff) {
  auto r = parse({"status"});
  expect_runs_silently(r, cap);
  EXPECT_FALSE(opts().force);
  EXPECT_FALSE(opts().force_version_override);
  EXPECT_FALSE(opts().all);
  EXPECT_FALSE(opts().binaries_only);
  EXPECT_FALSE(opts().source_only);
  EXPECT_FALSE(opts().rpm_safe_upgrade);
  EXPECT_FALSE(t.ctx.verbose());
  EXPECT_FALSE(t.ctx.settings.no_depmod);
  EXPECT_FALSE(t.output.quiet());
}

TEST_F(ParseTest, DeprecatedOptionsWarnAndContinue) {
  auto r = parse({"--no-initrd", "build", "--no-clean-kernel", "--no-prepare-kernel"});
  EXPECT_EQ(r.outcome, cli::ParseOutcome::run);
  EXPECT_EQ(opts().action, "build");
  EXPECT_EQ(cap.err, "Deprecated feature: --no-initrd\n"
                     "Deprecated feature: --no-clean-kernel\n"
                     "Deprecated feature: --no-prepare-kernel\n");
  EXPECT_EQ(cap.out, "");
}

TEST_F(ParseTest, QuietSilencesOnlyWhatFollows) {
  auto r = parse({"--no-initrd", "-q", "--no-clean-kernel", "a/1", "b"});
  EXPECT_EQ(r.outcome, cli::ParseOutcome::run);
  EXPECT_TRUE(t.output.quiet());
  // The warning for "b" and the second deprecation are swallowed.
  EXPECT_EQ(cap.merged, "Deprecated feature: --no-initrd\n");

  TestContext fresh;
  fresh.begin_capture();
  r = cli::parse_command_line(fresh.ctx, {"--quiet", "--version"});
  EXPECT_EQ(fresh.end_capture().merged, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.outcome, cli::ParseOutcome::exit_now);
}

// ---- positional words -----------------------------------------------------

TEST_F(ParseTest, DirectoryWithDkmsConfIsASourceTree) {
  std::string dir = t.root / "pkg-1.0";
  test_support::write_text(dir + "/dkms.conf", "PACKAGE_NAME=pkg\n");
  auto r = parse({"add", dir});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().source_dir, dir);
  EXPECT_EQ(opts().module, "");
  EXPECT_EQ(opts().archive, "");
}

TEST_F(ParseTest, DkmsConfFileGivesItsDirectoryPlusDotSlash) {
  std::string dir = t.root / "pkg-1.0";
  test_support::write_text(dir + "/dkms.conf", "");
  test_support::write_text(dir + "/my-dkms.conf", "");
  auto r = parse({"add", dir + "/dkms.conf"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().source_dir, dir + "/./");

  // Only the "dkms.conf" suffix is stripped, whatever precedes it.
  t.ctx.opts = {};
  parse({dir + "/my-dkms.conf"});
  EXPECT_EQ(opts().source_dir, dir + "/my-./");
}

TEST_F(ParseTest, OtherExistingFileIsAnArchive) {
  std::string file = t.root / "pkg.tar.gz";
  test_support::write_text(file, "x");
  auto r = parse({"ldtarball", file});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().archive, file);
  EXPECT_EQ(opts().source_dir, "");
  EXPECT_EQ(opts().module, "");
}

TEST_F(ParseTest, DirectoryWithoutDkmsConfIsAModuleVersion) {
  std::string dir = t.root / "plain";
  test_support::make_dir(dir);
  auto r = parse({"add", dir});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().source_dir, "");
  EXPECT_EQ(opts().module, "");             // text before the first '/'
  EXPECT_EQ(opts().version, dir.substr(1)); // the rest
}

TEST_F(ParseTest, SecondModuleWordIsWarnedAbout) {
  auto r = parse({"foo/1.0", "build", "bar"});
  EXPECT_EQ(r.outcome, cli::ParseOutcome::run);
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "1.0");
  EXPECT_EQ(opts().action, "build");
  EXPECT_EQ(cap.err, "Warning: I do not know how to handle bar.\n");
  EXPECT_EQ(cap.out, "");

  t.ctx.opts = {};
  parse({"-m", "foo", "baz/2"});
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "");
  EXPECT_EQ(cap.err, "Warning: I do not know how to handle baz/2.\n");
}

TEST_F(ParseTest, EmptyModuleWordLeavesRoomForAnother) {
  // An empty word sets an empty module, so the next word is still taken.
  auto r = parse({"", "foo/3"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "3");
}

TEST_F(ParseTest, OptionsAndPositionalsInterleave) {
  auto r = parse({"-k", "6.1.0", "foo/1.0", "--force", "install", "-a", "x86_64"});
  expect_runs_silently(r, cap);
  EXPECT_EQ(opts().action, "install");
  EXPECT_EQ(opts().module, "foo");
  EXPECT_EQ(opts().version, "1.0");
  EXPECT_TRUE(opts().force);
  EXPECT_EQ(opts().kernels, Strings{"6.1.0"});
  EXPECT_EQ(opts().arches, Strings{"x86_64"});
}

} // namespace
