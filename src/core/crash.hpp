#pragma once

// Fault injection for the crash-safety tests: in builds configured with
// DKMS_FAULT_INJECTION, crash_point("name") kills the process with SIGKILL
// when the environment variable DKMS_CRASH_POINT equals name. In normal
// builds it compiles to nothing.
namespace core {

#ifdef DKMS_FAULT_INJECTION
void crash_point(const char* name);
#else
inline void crash_point(const char*) {}
#endif

} // namespace core
