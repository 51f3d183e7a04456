#include "core/dynlib.hpp"
#include "core/exit.hpp"

#include <gtest/gtest.h>
#include <lzma.h>
#include <string>
#include <zlib.h>

namespace {

// Runs f, which must throw core::Exit; returns the code and what went to
// stderr (the library writes to fd 2 directly, which CaptureStderr follows).
template <typename F> std::pair<int, std::string> exit_of(F f) {
  int code = -1;
  testing::internal::CaptureStderr();
  try {
    f();
  } catch (const core::Exit& e) {
    code = e.code;
  }
  return {code, testing::internal::GetCapturedStderr()};
}

#define ZLIB_TEST_SYMBOLS(X) X(zlibVersion) X(crc32)
DKMS_DYNLIB_API(ZlibTestApi, ZLIB_TEST_SYMBOLS)

// A real symbol, but of liblzma: asking libz for it must fail.
#define WRONG_LIBRARY_SYMBOLS(X) X(zlibVersion) X(lzma_version_string)
DKMS_DYNLIB_API(WrongLibraryApi, WRONG_LIBRARY_SYMBOLS)

TEST(Dynlib, MissingLibraryExitsNamingIt) {
  auto [code, err] =
      exit_of([] { core::dynlib::Library("libdkms-no-such-lib.so.7", "testing"); });
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("Error! dkms cannot load libdkms-no-such-lib.so.7 (needed for "
                     "testing): "),
            std::string::npos)
      << err;
  // One line only.
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}

TEST(Dynlib, MissingSymbolExitsNamingLibraryAndSymbol) {
  auto [code, err] = exit_of([] {
    core::dynlib::Library lib(DKMS_SONAME_ZLIB, "gzip compression");
    lib.symbol("dkms_no_such_symbol");
  });
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find(std::string("cannot load ") + DKMS_SONAME_ZLIB), std::string::npos)
      << err;
  EXPECT_NE(err.find("dkms_no_such_symbol"), std::string::npos) << err;
}

TEST(Dynlib, ApiWithASymbolTheLibraryLacksExits) {
  auto [code, err] = exit_of(
      [] { core::dynlib::api<WrongLibraryApi>(DKMS_SONAME_ZLIB, "gzip compression"); });
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("lzma_version_string"), std::string::npos) << err;
}

TEST(Dynlib, LoadsRealLibraryAndCallsThroughIt) {
  const ZlibTestApi& z = core::dynlib::api<ZlibTestApi>(DKMS_SONAME_ZLIB, "testing");
  ASSERT_NE(z.zlibVersion, nullptr);
  EXPECT_STREQ(z.zlibVersion(), ZLIB_VERSION);
  // CRC-32 of "123456789", the standard check value.
  const auto* digits = reinterpret_cast<const Bytef*>("123456789");
  EXPECT_EQ(z.crc32(0, digits, 9), 0xCBF43926UL);
  // Loaded once: later calls get the same struct.
  EXPECT_EQ(&core::dynlib::api<ZlibTestApi>(DKMS_SONAME_ZLIB, "testing"), &z);
}

} // namespace
