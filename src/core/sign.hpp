#pragma once

#include "core/context.hpp"

#include <string>

// Module signing (SPEC §6.3) and MOK key generation (SPEC §2.13).
namespace core {

struct SigningSetup {
  bool enabled = false;
  std::string sign_file; // program to run
  std::string hash;      // CONFIG_MODULE_SIG_HASH value
  std::string key;       // private key path or pkcs11: URI
  std::string cert;      // DER certificate
};

// sign_file, mok_signing_key and mok_certificate from framework.conf
// (SPEC §4.1) for kernel K; unset values are empty.
SigningSetup read_signing_config(const Context& ctx, const std::string& kernel);

// Key and certificate preparation shared by signing and generate_mok: prints
// "Signing key: ...", "Public certificate (MOK): ..." and generates a
// self-signed pair with libcrypto when either is missing (key created 0600
// from the start). On entry setup.key/setup.cert are the configured
// mok_signing_key/mok_certificate (empty: unset); on return the paths used.
// Returns true if both are usable.
bool prepare_mok(Context& ctx, SigningSetup& setup);

// The whole decision sequence of SPEC §6.3 for kernel K with config file
// kconfig; prints upstream's messages. setup.enabled tells the outcome.
SigningSetup prepare_signing(Context& ctx, const std::string& kernel,
                             const std::string& kconfig);

// Signs one module file in place (SPEC §6.3 "Per module"): prints
// "Signing module <path>" and the warning on failure.
void sign_module(Context& ctx, const SigningSetup& setup, const std::string& path);

} // namespace core
