#pragma once

// Shared fixtures for unit tests: a throw-away directory, a Context whose
// trees live inside it, and helpers to capture what Output printed.
// Header-only because the test build globs only *_test.cpp files.

#include "core/context.hpp"
#include "core/output.hpp"
#include "util/fs.hpp"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace test_support {

// An environment variable set for one test and restored afterwards.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    const char* old = getenv(name);
    m_had = old != nullptr;
    if (m_had) {
      m_old = old;
    }
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (m_had) {
      setenv(m_name.c_str(), m_old.c_str(), 1);
    } else {
      unsetenv(m_name.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  std::string m_name;
  std::string m_old;
  bool m_had = false;
};

// A fresh directory under /tmp (resolved, so realpath comparisons hold),
// removed with everything in it when the object goes away.
class TempDir {
public:
  TempDir() {
    std::string templ = "/tmp/dkms-ut-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    char* resolved = realpath(templ.c_str(), nullptr);
    m_path = resolved != nullptr ? resolved : templ;
    free(resolved);
  }
  ~TempDir() {
    if (!m_path.empty()) {
      util::remove_all(m_path);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& rel) const { return m_path + "/" + rel; }

private:
  std::string m_path;
};

// Text printed while capturing, split by stream and in order.
struct Captured {
  std::string out;    // stdout text only
  std::string err;    // stderr text only
  std::string merged; // both, in the order they were written
  std::vector<core::Output::Chunk> chunks;
};

inline Captured collect(std::vector<core::Output::Chunk> chunks) {
  Captured c;
  for (const auto& ch : chunks) {
    (ch.stream == core::Stream::out ? c.out : c.err) += ch.text;
    c.merged += ch.text;
  }
  c.chunks = std::move(chunks);
  return c;
}

// A Context with the trees and system files inside a TempDir (nothing is
// created: each test builds what it needs).
struct TestContext {
  TestContext() : ctx(output) {
    ctx.settings.dkms_tree = root / "dkms";
    ctx.settings.source_tree = root / "src";
    ctx.settings.install_tree = root / "modules";
    ctx.settings.tmp_location = root.path();
    ctx.sys.etc_dkms = root / "etc/dkms";
    ctx.sys.os_release = root / "etc/os-release";
    ctx.sys.os_release_fallback = root / "usr/lib/os-release";
  }

  TempDir root;
  core::Output output;
  core::Context ctx;

  std::string dt() const { return ctx.settings.dkms_tree; }
  std::string st() const { return ctx.settings.source_tree; }
  std::string it() const { return ctx.settings.install_tree; }

  void begin_capture() { output.begin_capture(); }
  Captured end_capture() { return collect(output.end_capture()); }
};

// Small file-system builders; they fail the current test on error.
inline void make_dir(const std::string& path) {
  ASSERT_TRUE(util::mkdir_p(path)) << path;
}

inline void write_text(const std::string& path, const std::string& text,
                       unsigned mode = 0644) {
  make_dir(util::dirname(path));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  ASSERT_TRUE(f) << path;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

inline void make_symlink(const std::string& target, const std::string& link) {
  make_dir(util::dirname(link));
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link << " -> " << target;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

} // namespace test_support
