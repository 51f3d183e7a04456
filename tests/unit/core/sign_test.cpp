#include "core/sign.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>

namespace {

// Text written to each stream while capturing.
struct Captured {
  std::string out;
  std::string err;
};

Captured collect(core::Output& out) {
  Captured c;
  for (const auto& chunk : out.end_capture()) {
    (chunk.stream == core::Stream::out ? c.out : c.err) += chunk.text;
  }
  return c;
}

unsigned mode_of(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

core::ProcessResult run(const std::vector<std::string>& argv) {
  return core::run_capture(argv);
}

class Signing : public ::testing::Test {
protected:
  void SetUp() override {
    m_dir = *util::make_temp_dir("/tmp", "dkms-sign-test.");
    m_ctx.distro = "debian";
    m_ctx.sys.etc_dkms = m_dir + "/etc";
    m_ctx.settings.install_tree = m_dir + "/modules";
    m_key = m_dir + "/mok.key";
    m_cert = m_dir + "/mok.pub";
    unsetenv("sign_file");
    unsetenv("mok_signing_key");
    unsetenv("mok_certificate");
  }
  void TearDown() override { util::remove_all(m_dir); }

  // prepare_mok with the given configured key and certificate.
  bool mok(const std::string& key, const std::string& cert, Captured& text) {
    core::SigningSetup setup;
    setup.key = key;
    setup.cert = cert;
    m_out.begin_capture();
    bool ok = core::prepare_mok(m_ctx, setup);
    text = collect(m_out);
    return ok;
  }

  std::string kconfig(const std::string& text) {
    std::string path = m_dir + "/config";
    EXPECT_TRUE(util::write_file_atomic(path, text));
    return path;
  }

  core::SigningSetup signing(const std::string& kernel, const std::string& config,
                             Captured& text) {
    m_out.begin_capture();
    core::SigningSetup s = core::prepare_signing(m_ctx, kernel, config);
    text = collect(m_out);
    return s;
  }

  core::Output m_out;
  core::Context m_ctx{m_out};
  std::string m_dir;
  std::string m_key;
  std::string m_cert;
};

const std::string k_generating =
    "Certificate or key are missing, generating self signed certificate for MOK...\n";

// prepare_mok's lines naming the key and certificate it was given.
std::string naming(const std::string& key, const std::string& cert) {
  return "Signing key: " + key + "\nPublic certificate (MOK): " + cert + "\n";
}

// Its line when `what` ("Key", "Certificate") is missing and not made.
std::string not_generated(const std::string& what, const std::string& path) {
  return what + " file " + path +
         " not found and can't be generated, modules won't be signed\n";
}

TEST_F(Signing, GeneratesKeyAndCertificate) {
  Captured text;
  ASSERT_TRUE(mok(m_key, m_cert, text));
  EXPECT_EQ(text.out, "Signing key: " + m_key + "\nPublic certificate (MOK): " + m_cert +
                          "\n" + k_generating);
  EXPECT_EQ(text.err, "");
  EXPECT_EQ(mode_of(m_key), 0600u);
  EXPECT_EQ(mode_of(m_cert), 0644u);
  // No temporary files left behind.
  EXPECT_EQ(util::list_dir(m_dir), (std::vector<std::string>{"mok.key", "mok.pub"}));

  std::string key = *util::read_file(m_key);
  EXPECT_TRUE(util::starts_with(key, "-----BEGIN PRIVATE KEY-----\n")) << key;
  core::ProcessResult check = run({"openssl", "rsa", "-check", "-noout", "-in", m_key});
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("RSA key ok"), std::string::npos);

  core::ProcessResult x =
      run({"openssl", "x509", "-inform", "DER", "-in", m_cert, "-noout", "-text"});
  ASSERT_EQ(x.status, 0) << x.output;
  for (const char* want :
       {"Version: 3 (0x2)", "Issuer: CN = DKMS module signing key",
        "Subject: CN = DKMS module signing key", "Public-Key: (2048 bit)",
        "X509v3 Extended Key Usage: \n                Code Signing",
        "X509v3 Basic Constraints: critical\n                CA:TRUE",
        "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
        "Signature Algorithm: sha256WithRSAEncryption"}) {
    EXPECT_NE(x.output.find(want), std::string::npos) << want << "\n" << x.output;
  }
  // Valid for 36500 days from now.
  EXPECT_EQ(run({"openssl", "x509", "-inform", "DER", "-in", m_cert, "-noout",
                 "-checkend", std::to_string(36499LL * 86400)})
                .status,
            0);
  EXPECT_NE(run({"openssl", "x509", "-inform", "DER", "-in", m_cert, "-noout",
                 "-checkend", std::to_string(36501LL * 86400)})
                .status,
            0);
  // Certificate and key belong together.
  core::ProcessResult a =
      run({"openssl", "x509", "-inform", "DER", "-in", m_cert, "-noout", "-pubkey"});
  core::ProcessResult b = run({"openssl", "pkey", "-in", m_key, "-pubout"});
  EXPECT_EQ(a.output, b.output);
  // Two generations give different serials and keys.
  std::string other = m_dir + "/other";
  util::mkdir_p(other);
  ASSERT_TRUE(mok(other + "/k", other + "/c", text));
  EXPECT_NE(*util::read_file(other + "/c"), *util::read_file(m_cert));
}

TEST_F(Signing, KeyIsPrivateEvenWithPermissiveUmask) {
  mode_t old = umask(0);
  Captured text;
  bool ok = mok(m_key, m_cert, text);
  umask(old);
  ASSERT_TRUE(ok);
  EXPECT_EQ(mode_of(m_key), 0600u);
  EXPECT_EQ(mode_of(m_cert), 0644u);
}

TEST_F(Signing, ExistingPairIsLeftAlone) {
  ASSERT_TRUE(util::write_file_atomic(m_key, "KEY", 0640));
  ASSERT_TRUE(util::write_file_atomic(m_cert, "CERT", 0644));
  Captured text;
  EXPECT_TRUE(mok(m_key, m_cert, text));
  EXPECT_EQ(text.out,
            "Signing key: " + m_key + "\nPublic certificate (MOK): " + m_cert + "\n");
  EXPECT_EQ(util::read_file(m_key), "KEY");
  EXPECT_EQ(util::read_file(m_cert), "CERT");
  EXPECT_EQ(mode_of(m_key), 0640u);
}

TEST_F(Signing, HalfAPairIsRegeneratedWhole) {
  // Upstream's openssl call rewrites both files when either is missing.
  ASSERT_TRUE(util::write_file_atomic(m_cert, "OLD CERT"));
  Captured text;
  EXPECT_TRUE(mok(m_key, m_cert, text));
  EXPECT_NE(text.out.find(k_generating), std::string::npos);
  EXPECT_NE(util::read_file(m_cert), "OLD CERT");
  EXPECT_EQ(run({"openssl", "rsa", "-check", "-noout", "-in", m_key}).status, 0);
}

TEST_F(Signing, Pkcs11KeyIsNeverGenerated) {
  Captured text;
  EXPECT_FALSE(mok("pkcs11:token=x", m_cert, text));
  EXPECT_EQ(text.out,
            naming("pkcs11:token=x", m_cert) + not_generated("Certificate", m_cert));
  EXPECT_FALSE(util::lexists(m_cert));

  ASSERT_TRUE(util::write_file_atomic(m_cert, "CERT"));
  EXPECT_TRUE(mok("pkcs11:token=x", m_cert, text));
  EXPECT_EQ(text.out,
            "Signing key: pkcs11:token=x\nPublic certificate (MOK): " + m_cert + "\n");
}

TEST_F(Signing, UnwritableLocation) {
  std::string key = m_dir + "/missing-dir/mok.key";
  std::string cert = m_dir + "/missing-dir/mok.pub";
  Captured text;
  EXPECT_FALSE(mok(key, cert, text));
  EXPECT_EQ(text.out, naming(key, cert) + k_generating + not_generated("Key", key));
}

TEST_F(Signing, UnwritableCertificateLocationKeepsTheKey) {
  // Like `openssl req`, the key is written before the certificate fails.
  std::string cert = m_dir + "/missing-dir/mok.pub";
  Captured text;
  EXPECT_FALSE(mok(m_key, cert, text));
  EXPECT_EQ(text.out,
            naming(m_key, cert) + k_generating + not_generated("Certificate", cert));
  EXPECT_TRUE(util::is_regular(m_key));
}

TEST_F(Signing, DefaultsNameVarLibDkms) {
  // A pkcs11 key keeps generation (and the real /var/lib/dkms) out of it.
  core::SigningSetup setup;
  setup.key = "pkcs11:x";
  setup.cert = "";
  m_out.begin_capture();
  core::prepare_mok(m_ctx, setup);
  Captured text = collect(m_out);
  EXPECT_NE(text.out.find("Public certificate (MOK): /var/lib/dkms/mok.pub\n"),
            std::string::npos);
  EXPECT_EQ(setup.cert, "/var/lib/dkms/mok.pub");
}

TEST_F(Signing, GentooKeyFromKernelConfig) {
  m_ctx.distro = "gentoo";
  unsetenv("MODULES_SIGN_KEY");
  unsetenv("MODULES_SIGN_CERT");
  if (util::exists("/etc/portage/make.conf")) {
    GTEST_SKIP() << "a real portage config exists";
  }
  ASSERT_TRUE(util::write_file_atomic(m_key, "PEM"));
  m_ctx.opts.kernel_config =
      kconfig("CONFIG_X=y\nCONFIG_MODULE_SIG_KEY=\"" + m_key + "\"\n");
  core::SigningSetup setup;
  setup.cert = "/ignored/cert"; // Gentoo replaces both when the key is unset
  m_out.begin_capture();
  EXPECT_TRUE(core::prepare_mok(m_ctx, setup));
  Captured text = collect(m_out);
  EXPECT_EQ(text.out,
            "Signing key: " + m_key + "\nPublic certificate (MOK): " + m_key + "\n");

  setenv("MODULES_SIGN_KEY", m_key.c_str(), 1);
  setenv("MODULES_SIGN_CERT", m_cert.c_str(), 1);
  ASSERT_TRUE(util::write_file_atomic(m_cert, "CERT"));
  setup = {};
  m_out.begin_capture();
  EXPECT_TRUE(core::prepare_mok(m_ctx, setup));
  text = collect(m_out);
  unsetenv("MODULES_SIGN_KEY");
  unsetenv("MODULES_SIGN_CERT");
  EXPECT_EQ(text.out,
            "Signing key: " + m_key + "\nPublic certificate (MOK): " + m_cert + "\n");
}

TEST_F(Signing, KernelConfigChecks) {
  Captured text;
  core::SigningSetup s = signing("6.1.0-56-amd64", m_dir + "/no-config", text);
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(text.out,
            "Kernel config " + m_dir + "/no-config not found, modules won't be signed\n");

  s = signing("6.1.0-56-amd64", kconfig("CONFIG_MODULES=y\n# CONFIG_MODULE_SIG_HASH=x\n"),
              text);
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(
      text.out,
      "The kernel is built without module signing facility, modules won't be signed\n");
}

TEST_F(Signing, DebianDefaultSignFile) {
  const std::string kbuild = "/usr/lib/linux-kbuild-6.1/scripts/sign-file";
  if (!util::is_executable_file(kbuild)) {
    GTEST_SKIP() << kbuild << " not installed";
  }
  setenv("mok_signing_key", m_key.c_str(), 1);
  setenv("mok_certificate", m_cert.c_str(), 1);
  Captured text;
  core::SigningSetup s =
      signing("6.1.0-56-amd64", kconfig("CONFIG_MODULE_SIG_HASH=\"sha512\"\n"), text);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.hash, "sha512");
  EXPECT_EQ(s.sign_file, kbuild);
  EXPECT_EQ(text.out, "Sign command: " + kbuild + "\nSigning key: " + m_key +
                          "\nPublic certificate (MOK): " + m_cert + "\n" + k_generating);
}

TEST_F(Signing, FallbackSignFileUnderInstallTree) {
  setenv("mok_signing_key", m_key.c_str(), 1);
  setenv("mok_certificate", m_cert.c_str(), 1);
  std::string config = kconfig("CONFIG_MODULE_SIG_HASH=\"sha256\"\n");
  std::string fallback = m_dir + "/modules/9.9.9-x/build/scripts/sign-file";
  for (const char* distro : {"debian", "arch", "fedora"}) {
    SCOPED_TRACE(distro);
    m_ctx.distro = distro;
    Captured text;
    core::SigningSetup s = signing("9.9.9-x", config, text);
    EXPECT_FALSE(s.enabled);
    EXPECT_EQ(text.out, "Sign command: " + fallback + "\nBinary " + fallback +
                            " not found, modules won't be signed\n");
  }
  // Present but not executable is still "not found".
  ASSERT_TRUE(util::mkdir_p(util::dirname(fallback)));
  ASSERT_TRUE(util::write_file_atomic(fallback, "#!/bin/sh\n", 0644));
  Captured text;
  EXPECT_FALSE(signing("9.9.9-x", config, text).enabled);
  EXPECT_NE(text.out.find("Binary " + fallback + " not found"), std::string::npos);
  chmod(fallback.c_str(), 0755);
  core::SigningSetup s = signing("9.9.9-x", config, text);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.sign_file, fallback);
}

TEST_F(Signing, FrameworkConfigurationIsUsed) {
  ASSERT_TRUE(util::mkdir_p(m_dir + "/etc/framework.conf.d"));
  ASSERT_TRUE(
      util::write_file_atomic(m_dir + "/etc/framework.conf",
                              "sign_file=/bin/true\nmok_signing_key=" + m_key + "\n"));
  ASSERT_TRUE(util::write_file_atomic(m_dir + "/etc/framework.conf.d/cert.conf",
                                      "mok_certificate=" + m_cert + "\n"));
  core::SigningSetup s = core::read_signing_config(m_ctx, "6.1.0-56-amd64");
  if (s.sign_file.empty()) {
    GTEST_SKIP() << "read_framework not implemented yet";
  }
  EXPECT_EQ(s.sign_file, "/bin/true");
  EXPECT_EQ(s.key, m_key);
  EXPECT_EQ(s.cert, m_cert);
}

TEST_F(Signing, EnvironmentSuppliesUnsetVariables) {
  setenv("sign_file", "/from/env", 1);
  core::SigningSetup s = core::read_signing_config(m_ctx, "6.1.0-56-amd64");
  EXPECT_EQ(s.sign_file, "/from/env");
  EXPECT_EQ(s.key, "");
}

std::string sign_file_tool() {
  for (const char* p : {"/usr/lib/linux-kbuild-6.1/scripts/sign-file",
                        "/lib/modules/6.1.0-56-amd64/build/scripts/sign-file"}) {
    if (util::is_executable_file(p)) {
      return p;
    }
  }
  return {};
}

TEST_F(Signing, SignsAModuleWithTheKernelTool) {
  std::string tool = sign_file_tool();
  if (tool.empty()) {
    GTEST_SKIP() << "no sign-file";
  }
  Captured text;
  ASSERT_TRUE(mok(m_key, m_cert, text));
  // A small object with a .modinfo section stands in for a module.
  std::string c = m_dir + "/m.c";
  std::string ko = m_dir + "/m.ko";
  ASSERT_TRUE(util::write_file_atomic(
      c, "static const char __attribute__((section(\".modinfo\"), used)) mi[] = "
         "\"version=1.0\";\n"));
  ASSERT_EQ(run({"gcc", "-c", c, "-o", ko}).status, 0);
  std::string before = *util::read_file(ko);

  core::SigningSetup setup{true, tool, "sha256", m_key, m_cert};
  m_out.begin_capture();
  core::sign_module(m_ctx, setup, ko);
  text = collect(m_out);
  EXPECT_EQ(text.out, "Signing module " + ko + "\n");
  EXPECT_EQ(text.err, "");
  std::string after = *util::read_file(ko);
  ASSERT_GT(after.size(), before.size());
  EXPECT_EQ(after.substr(0, before.size()), before);
  EXPECT_TRUE(util::ends_with(after, "~Module signature appended~\n"));
  if (util::is_executable_file("/sbin/modinfo")) {
    EXPECT_EQ(run({"/sbin/modinfo", "-F", "signer", ko}).output,
              "DKMS module signing key\n");
  }
}

TEST_F(Signing, FailureIsAWarning) {
  std::string ko = m_dir + "/m.ko";
  ASSERT_TRUE(util::write_file_atomic(ko, "data"));
  core::SigningSetup setup{true, "/bin/false", "sha256", m_key, m_cert};
  m_out.begin_capture();
  core::sign_module(m_ctx, setup, ko);
  Captured text = collect(m_out);
  EXPECT_EQ(text.out, "Signing module " + ko + "\n");
  // The output was empty: upstream still prints its (empty) line.
  EXPECT_EQ(text.err, "Warning: Failed to sign module '" + ko + "'!\n\n");

  // The tool's arguments and its merged output, trailing newlines dropped.
  std::string script = m_dir + "/fake-sign";
  ASSERT_TRUE(util::write_file_atomic(
      script, "#!/bin/sh\necho \"args: $*\"\necho oops >&2\necho\necho\nexit 3\n", 0755));
  setup.sign_file = script;
  m_out.begin_capture();
  core::sign_module(m_ctx, setup, ko);
  text = collect(m_out);
  EXPECT_EQ(text.err, "Warning: Failed to sign module '" + ko + "'!\nargs: sha256 " +
                          m_key + " " + m_cert + " " + ko + "\noops\n");
  EXPECT_EQ(util::read_file(ko), "data");
}

} // namespace
