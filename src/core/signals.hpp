#pragma once

// Ctrl-C and SIGTERM handling: the signal is passed on to the child being
// waited for (make, a hook script), and remembered, so the action can put
// the pair back as it was and stop with 128+signal.
namespace core {

void install_signal_handlers();
// The signal received so far, or 0.
int interrupted_signal();

// Units forked by parallel autoinstall: a signal to the parent is passed on
// to them too.
void track_forked_unit(int pid);
void untrack_forked_unit(int pid);
// In a freshly forked unit: its siblings are not its to signal.
void forget_forked_units();

} // namespace core
