#include "core/sign.hpp"

#include "core/dkms_conf.hpp"
#include "core/dynlib.hpp"
#include "core/kernel.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

// `grep "^NAME=" file | cut -f2 -d= | sed 's/"//g'`: the second '='-field of
// every matching line, quotes removed, lines joined by newlines.
std::string grep_cut(const std::optional<std::string>& text, const std::string& name) {
  if (!text) {
    return {};
  }
  std::string out;
  bool first = true;
  for (std::string_view line : util::lines_starting_with(*text, name + "=")) {
    std::string_view field = line.substr(name.size() + 1);
    field = field.substr(0, field.find('='));
    if (!first) {
      out += '\n';
    }
    first = false;
    for (char c : field) {
      if (c != '"') {
        out += c;
      }
    }
  }
  return out;
}

bool has_line_starting(const std::optional<std::string>& text,
                       const std::string& prefix) {
  return text && !util::lines_starting_with(*text, prefix).empty();
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Runs a helper whose output upstream lets through to the terminal.
ProcessResult run_to_output(Output& out, ProcessSpec spec) {
  if (out.capturing()) {
    spec.out = Sink::capture;
    spec.merge_stderr = true;
  } else {
    spec.out_fd = out.stdout_fd();
    spec.err_fd = out.stderr_fd();
  }
  ProcessResult r = run_process(spec);
  if (out.capturing()) {
    out.out(r.output);
  }
  return r;
}

// libcrypto is opened only when a key pair has to be generated.
// clang-format off
#define DKMS_CRYPTO_SYMBOLS(X)                                                           \
  X(EVP_PKEY_free) X(X509_free) X(BIO_free_all) X(BN_free) X(X509_EXTENSION_free)        \
  X(X509V3_set_ctx) X(X509V3_EXT_conf_nid) X(X509_add_ext) X(EVP_PKEY_Q_keygen)          \
  X(X509_new) X(BN_new) X(X509_set_version) X(BN_rand) X(BN_to_ASN1_INTEGER)            \
  X(X509_get_serialNumber) X(X509_get_subject_name) X(X509_NAME_add_entry_by_txt)        \
  X(X509_set_issuer_name) X(X509_gmtime_adj) X(X509_getm_notBefore) X(X509_time_adj_ex) \
  X(X509_getm_notAfter) X(X509_set_pubkey) X(X509_sign) X(EVP_sha256) X(BIO_new)        \
  X(BIO_s_mem) X(PEM_write_bio_PrivateKey) X(BIO_ctrl) X(OPENSSL_cleanse) X(i2d_X509)
// clang-format on
DKMS_DYNLIB_API(CryptoApi, DKMS_CRYPTO_SYMBOLS)

const CryptoApi& libcrypto() {
  return dynlib::api<CryptoApi>(DKMS_SONAME_LIBCRYPTO, "module signing keys");
}

// Free is the CryptoApi member holding the library's free function.
template <typename T, void (*CryptoApi::*Free)(T*)> struct Deleter {
  void operator()(T* p) const { (libcrypto().*Free)(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, &CryptoApi::EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, &CryptoApi::X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, &CryptoApi::BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, &CryptoApi::BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION,
                               Deleter<X509_EXTENSION, &CryptoApi::X509_EXTENSION_free>>;

bool add_extension(X509* cert, int nid, const char* value) {
  const CryptoApi& ssl = libcrypto();
  X509V3_CTX v3;
  ssl.X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(ssl.X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
  return ext && ssl.X509_add_ext(cert, ext.get(), -1) == 1;
}

// What `openssl req -new -x509 -nodes -days 36500 -subj "/CN=DKMS module
// signing key" -newkey rsa:2048 -addext extendedKeyUsage=codeSigning`
// produces: a v3 self-signed certificate with a random 159-bit serial and
// the default v3_ca extensions.
bool make_certificate(PkeyPtr& key, X509Ptr& cert) {
  const CryptoApi& ssl = libcrypto();
  key.reset(ssl.EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  cert.reset(ssl.X509_new());
  BnPtr serial(ssl.BN_new());
  if (!key || !cert || !serial || ssl.X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ssl.BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      ssl.BN_to_ASN1_INTEGER(serial.get(), ssl.X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return false;
  }
  X509_NAME* name = ssl.X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>("DKMS module signing key");
  return ssl.X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) == 1 &&
         ssl.X509_set_issuer_name(cert.get(), name) == 1 &&
         ssl.X509_gmtime_adj(ssl.X509_getm_notBefore(cert.get()), 0) != nullptr &&
         ssl.X509_time_adj_ex(ssl.X509_getm_notAfter(cert.get()), 36500, 0, nullptr) !=
             nullptr &&
         ssl.X509_set_pubkey(cert.get(), key.get()) == 1 &&
         add_extension(cert.get(), NID_subject_key_identifier, "hash") &&
         add_extension(cert.get(), NID_authority_key_identifier, "keyid:always") &&
         add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") &&
         add_extension(cert.get(), NID_ext_key_usage, "codeSigning") &&
         ssl.X509_sign(cert.get(), key.get(), ssl.EVP_sha256()) > 0;
}

// The key never exists with wider permissions than 0600: the temporary
// file is created that way, then renamed into place.
bool write_private_file(const std::string& path, const std::string& data) {
  std::string tmp = path + ".dkms-tmp.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC); // mkstemp creates with 0600
  if (fd < 0) {
    return false;
  }
  bool ok = fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// Writes a new key (PEM, PKCS#8, unencrypted) and certificate (DER).
bool generate_key_pair(const std::string& key_path, const std::string& cert_path) {
  // An RSA key takes ~0.1 s to make: not when it could not be saved anyway
  // (e.g. no /var/lib/dkms, where every build would otherwise pay it). Only
  // the key's directory counts: like `openssl req`, the key is written even
  // when the certificate then cannot be, and dkms reports the missing
  // certificate rather than the key.
  if (access(util::dirname(key_path).c_str(), W_OK | X_OK) != 0) {
    return false;
  }
  const CryptoApi& ssl = libcrypto();
  PkeyPtr key;
  X509Ptr cert;
  if (!make_certificate(key, cert)) {
    return false;
  }
  BioPtr pem(ssl.BIO_new(ssl.BIO_s_mem()));
  if (!pem || ssl.PEM_write_bio_PrivateKey(pem.get(), key.get(), nullptr, nullptr, 0,
                                           nullptr, nullptr) != 1) {
    return false;
  }
  char* pem_data = nullptr;
  // BIO_get_mem_data() is a macro for this call.
  long pem_len = ssl.BIO_ctrl(pem.get(), BIO_CTRL_INFO, 0, &pem_data);
  std::string key_text(pem_data, static_cast<size_t>(pem_len));
  ssl.OPENSSL_cleanse(pem_data, static_cast<size_t>(pem_len));
  if (!write_private_file(key_path, key_text)) {
    ssl.OPENSSL_cleanse(key_text.data(), key_text.size());
    return false;
  }
  ssl.OPENSSL_cleanse(key_text.data(), key_text.size());
  int der_len = ssl.i2d_X509(cert.get(), nullptr);
  if (der_len <= 0) {
    return false;
  }
  std::string der(static_cast<size_t>(der_len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  return ssl.i2d_X509(cert.get(), &p) == der_len &&
         util::write_file_atomic(cert_path, der, 0644);
}

// Ubuntu keeps its MOK from shim-signed and has a tool to create it.
bool prepare_ubuntu_mok(Context& ctx, SigningSetup& setup) {
  setup.key = "/var/lib/shim-signed/mok/MOK.priv";
  setup.cert = "/var/lib/shim-signed/mok/MOK.der";
  if (util::is_regular(setup.key) && util::is_regular(setup.cert)) {
    return true;
  }
  std::string tool = find_in_path("update-secureboot-policy");
  if (tool.empty() || !util::is_executable_file(tool)) {
    ctx.out.line("Binary update-secureboot-policy not found, modules won't be signed");
    return false;
  }
  // The tool will not create a new key while the certificate exists.
  if (util::is_regular(setup.cert)) {
    util::remove_file(setup.cert);
  }
  ctx.out.line("Certificate or key are missing, generating them using "
               "update-secureboot-policy...");
  ProcessSpec spec;
  spec.argv = {tool, "--new-key"};
  spec.env_set = {{"SHIM_NOTRIGGER", "y"}};
  spec.out = Sink::discard;
  spec.merge_stderr = true;
  run_process(spec);
  ProcessSpec enroll;
  enroll.argv = {tool, "--enroll-key"};
  run_to_output(ctx.out, enroll);
  return true;
}

void gentoo_mok(SigningSetup& setup, const std::string& kconfig) {
  const std::string make_conf = "/etc/portage/make.conf";
  setup.key = env_or_empty("MODULES_SIGN_KEY");
  setup.cert = env_or_empty("MODULES_SIGN_CERT");
  if (setup.key.empty() && util::is_regular(make_conf)) {
    setup.key = grep_cut(util::read_file(make_conf), "MODULES_SIGN_KEY");
  }
  if (setup.cert.empty() && util::is_regular(make_conf)) {
    setup.cert = grep_cut(util::read_file(make_conf), "MODULES_SIGN_CERT");
  }
  // The kernel's own key file holds both key and certificate.
  if (setup.key.empty() && util::is_regular(kconfig)) {
    setup.key = grep_cut(kernel_config_text(kconfig), "CONFIG_MODULE_SIG_KEY");
    setup.cert = setup.key;
  }
}

bool prepare_mok_for(Context& ctx, SigningSetup& setup, const std::string& kconfig) {
  if (setup.key.empty()) {
    if (distro_matches(ctx.distro, "ubuntu*")) {
      if (!prepare_ubuntu_mok(ctx, setup)) {
        return false;
      }
    } else if (distro_matches(ctx.distro, "gentoo*")) {
      gentoo_mok(setup, kconfig);
    }
  }
  if (setup.key.empty()) {
    setup.key = "/var/lib/dkms/mok.key";
  }
  ctx.out.line("Signing key: " + setup.key);
  if (setup.cert.empty()) {
    setup.cert = "/var/lib/dkms/mok.pub";
  }
  ctx.out.line("Public certificate (MOK): " + setup.cert);

  // sign-file also takes "pkcs11:" URIs as keys; those are never generated.
  if (!util::starts_with(setup.key, "pkcs11:") &&
      (!util::is_regular(setup.key) || !util::is_regular(setup.cert))) {
    ctx.out.line(
        "Certificate or key are missing, generating self signed certificate for MOK...");
    generate_key_pair(setup.key, setup.cert);
    if (!util::is_regular(setup.key)) {
      ctx.out.line("Key file " + setup.key +
                   " not found and can't be generated, modules won't be signed");
      return false;
    }
  }
  if (!util::is_regular(setup.cert)) {
    ctx.out.line("Certificate file " + setup.cert +
                 " not found and can't be generated, modules won't be signed");
    return false;
  }
  return true;
}

// Bash's ${K%.*}: K without its last '.'-suffix.
std::string without_last_dot_suffix(const std::string& kernel) {
  size_t dot = kernel.rfind('.');
  return dot == std::string::npos ? kernel : kernel.substr(0, dot);
}

std::string default_sign_file(const Context& ctx, const std::string& kernel) {
  std::string sign_file;
  if (distro_matches(ctx.distro, "debian*")) {
    sign_file =
        "/usr/lib/linux-kbuild-" + without_last_dot_suffix(kernel) + "/scripts/sign-file";
  } else if (distro_matches(ctx.distro, "ubuntu*")) {
    sign_file = find_in_path("kmodsign");
    if (!util::is_executable_file(sign_file)) {
      sign_file = "/usr/src/linux-headers-" + kernel + "/scripts/sign-file";
    }
  } else if (distro_matches(ctx.distro, "gentoo*")) {
    sign_file = "/usr/src/linux-" + kernel + "/scripts/sign-file";
  }
  if (!util::is_regular(sign_file)) {
    sign_file = ctx.settings.install_tree + "/" + kernel + "/build/scripts/sign-file";
  }
  return sign_file;
}

} // namespace

SigningSetup read_signing_config(const Context& ctx, const std::string& kernel) {
  std::map<std::string, std::string> vars =
      read_framework(ctx, {"sign_file", "mok_signing_key", "mok_certificate"}, kernel);
  // Upstream never initialises these shell variables, so the environment
  // supplies any that the files leave unset.
  auto value = [&](const char* name) {
    auto it = vars.find(name);
    return it != vars.end() ? it->second : env_or_empty(name);
  };
  SigningSetup setup;
  setup.sign_file = value("sign_file");
  setup.key = value("mok_signing_key");
  setup.cert = value("mok_certificate");
  return setup;
}

bool prepare_mok(Context& ctx, SigningSetup& setup) {
  // generate_mok sees the kernel config only when --config names one.
  return prepare_mok_for(ctx, setup, ctx.opts.kernel_config);
}

SigningSetup prepare_signing(Context& ctx, const std::string& kernel,
                             const std::string& kconfig) {
  SigningSetup setup = read_signing_config(ctx, kernel);
  setup.enabled = false;
  if (!util::is_regular(kconfig)) {
    ctx.out.line("Kernel config " + kconfig + " not found, modules won't be signed");
    return setup;
  }
  if (!has_line_starting(kernel_config_text(kconfig), "CONFIG_MODULE_SIG_HASH=")) {
    ctx.out.line(
        "The kernel is built without module signing facility, modules won't be signed");
    return setup;
  }
  setup.hash = grep_cut(kernel_config_text(kconfig), "CONFIG_MODULE_SIG_HASH");
  if (setup.sign_file.empty()) {
    setup.sign_file = default_sign_file(ctx, kernel);
  }
  ctx.out.line("Sign command: " + setup.sign_file);
  if (!util::is_executable_file(setup.sign_file)) {
    ctx.out.line("Binary " + setup.sign_file + " not found, modules won't be signed");
    return setup;
  }
  setup.enabled = prepare_mok_for(ctx, setup, kconfig);
  return setup;
}

void sign_module(Context& ctx, const SigningSetup& setup, const std::string& path) {
  ctx.out.line("Signing module " + path);
  ProcessSpec spec;
  spec.argv = {setup.sign_file, setup.hash, setup.key, setup.cert, path};
  spec.out = Sink::capture;
  spec.merge_stderr = true;
  ProcessResult r = run_process(spec);
  if (r.status != 0) {
    // $(...) drops trailing newlines; an empty output still prints a line.
    std::string text = r.output;
    while (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    ctx.out.warning({"Failed to sign module '" + path + "'!", text});
  }
}

} // namespace core
