// libFuzzer target for the tarball reader (core/archive): every input is
// extracted into one private directory with small caps, then checked for
// escaping symlinks; whatever the input, nothing may be written outside
// that directory and nothing may crash. The directory is emptied between
// inputs.
#include "core/archive.hpp"
#include "util/fs.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

const std::string& work_dir() {
  static const std::string dir = [] {
    const char* tmp = getenv("TMPDIR");
    auto made = util::make_temp_dir(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                    "dkms-archive-fuzz.");
    if (!made) {
      perror("mkdtemp");
      abort();
    }
    return *made;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& root = work_dir();
  std::string dest = root + "/x";
  util::remove_all(dest);
  if (!util::mkdir_p(dest)) {
    abort();
  }
  core::ExtractLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_entries = 1000;
  auto err = core::extract_archive_memory(data, size, dest, limits);
  if (!err) {
    (void)core::find_escaping_symlink(dest);
  }
  // Only the extraction directory may exist next to it: anything else was
  // written outside it.
  if (util::list_dir(root) != std::vector<std::string>{"x"}) {
    fprintf(stderr, "archive_fuzz: something was written outside %s\n", dest.c_str());
    abort();
  }
  return 0;
}
