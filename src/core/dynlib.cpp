#include "core/dynlib.hpp"

#include "core/exit.hpp"

#include <dlfcn.h>
#include <string>
#include <unistd.h>

namespace core::dynlib {

Library::Library(const char* soname, const char* purpose)
    : m_soname(soname), m_purpose(purpose),
      m_handle(dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
  if (m_handle == nullptr) {
    fail(dlerror());
  }
}

void* Library::symbol(const char* name) const {
  dlerror(); // a null symbol is only an error if dlerror() says so
  void* p = dlsym(m_handle, name);
  const char* err = dlerror();
  if (err != nullptr) {
    fail(err);
  }
  if (p == nullptr) {
    fail((std::string(name) + " is null").c_str());
  }
  return p;
}

void Library::fail(const char* what) const {
  // Straight to the fd, like Output: callers deep in a helper have none.
  std::string line = std::string("Error! dkms cannot load ") + m_soname +
                     " (needed for " + m_purpose +
                     "): " + (what != nullptr ? what : "unknown error") + "\n";
  for (size_t done = 0; done < line.size();) {
    ssize_t n = write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  throw Exit{1};
}

} // namespace core::dynlib
