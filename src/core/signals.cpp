#include "core/signals.hpp"

#include "core/subprocess.hpp"

#include <csignal>
#include <signal.h>

namespace core {

namespace {

volatile sig_atomic_t g_signal = 0;
constexpr int k_max_units = 256;
volatile sig_atomic_t g_units[k_max_units];

void on_signal(int sig) {
  g_signal = sig;
  int child = current_child_pid();
  if (child > 0) {
    kill(-child, sig); // the child's process group (make and its jobs)
    kill(child, sig);
  }
  for (int i = 0; i < k_max_units; ++i) {
    if (g_units[i] > 0) {
      kill(static_cast<pid_t>(g_units[i]), sig);
    }
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

void track_forked_unit(int pid) {
  for (int i = 0; i < k_max_units; ++i) {
    if (g_units[i] == 0) {
      g_units[i] = pid;
      return;
    }
  }
}

void forget_forked_units() {
  for (int i = 0; i < k_max_units; ++i) {
    g_units[i] = 0;
  }
}

void untrack_forked_unit(int pid) {
  for (int i = 0; i < k_max_units; ++i) {
    if (g_units[i] == pid) {
      g_units[i] = 0;
    }
  }
}

} // namespace core
