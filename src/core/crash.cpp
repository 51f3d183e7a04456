#include "core/crash.hpp"

#ifdef DKMS_FAULT_INJECTION
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace core {

void crash_point(const char* name) {
  const char* wanted = getenv("DKMS_CRASH_POINT");
  if (wanted != nullptr && strcmp(wanted, name) == 0) {
    raise(SIGKILL);
  }
}

} // namespace core
#endif
