#pragma once

// Ctrl-C and SIGTERM handling: the signal is passed on to the child being
// waited for (make, a hook script), and remembered, so the action can put
// the pair back as it was and stop with 128+signal.
namespace core {

void install_signal_handlers();
// The signal received so far, or 0.
int interrupted_signal();

} // namespace core
