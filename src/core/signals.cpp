#include "core/signals.hpp"

#include "core/subprocess.hpp"

#include <csignal>
#include <signal.h>

namespace core {

namespace {

volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  int child = current_child_pid();
  if (child > 0) {
    kill(child, sig);
  }
}

} // namespace

void install_signal_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    sigaction(sig, &sa, nullptr);
  }
}

int interrupted_signal() {
  return g_signal;
}

} // namespace core
