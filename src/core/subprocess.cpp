#include "core/subprocess.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace core {

namespace {

std::atomic<int> g_child_pid{0};

} // namespace

std::vector<std::string> child_environment(const ProcessSpec& spec) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& u : spec.env_unset) {
      drop = drop || u == name;
    }
    for (const auto& kv : spec.env_set) {
      drop = drop || kv.first == name;
    }
    if (!drop) {
      env.push_back(std::move(entry));
    }
  }
  for (const auto& kv : spec.env_set) {
    env.push_back(kv.first + "=" + kv.second);
  }
  return env;
}

namespace {

int pidfd_open_compat(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

int decode_status(int wstatus) {
  if (WIFEXITED(wstatus)) {
    return WEXITSTATUS(wstatus);
  }
  if (WIFSIGNALED(wstatus)) {
    return 128 + WTERMSIG(wstatus);
  }
  return 1;
}

} // namespace

int current_child_pid() {
  return g_child_pid.load();
}

ProcessResult run_process(const ProcessSpec& spec) {
  ProcessResult result;
  if (spec.argv.empty()) {
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);

  int out_pipe[2] = {-1, -1};
  int in_pipe[2] = {-1, -1};
  if (spec.out == Sink::capture && pipe2(out_pipe, O_CLOEXEC) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return result;
  }
  if (!spec.stdin_data.empty() && pipe2(in_pipe, O_CLOEXEC) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return result;
  }

  if (in_pipe[0] >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  switch (spec.out) {
  case Sink::capture:
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    break;
  case Sink::discard:
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    break;
  case Sink::inherit:
    if (spec.out_fd != 1) {
      posix_spawn_file_actions_adddup2(&actions, spec.out_fd, 1);
    }
    break;
  }
  if (spec.merge_stderr) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else if (spec.err_fd != 2) {
    posix_spawn_file_actions_adddup2(&actions, spec.err_fd, 2);
  }
  if (!spec.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  // Each child leads its own process group, so a signal we pass on
  // reaches make's whole job tree, not just the bash wrapper.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> env = child_environment(spec);
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argvp;
  for (auto& a : args) {
    argvp.push_back(a.data());
  }
  argvp.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argvp[0], &actions, &attr, argvp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (out_pipe[1] >= 0) {
    close(out_pipe[1]);
  }
  if (in_pipe[0] >= 0) {
    close(in_pipe[0]);
  }
  if (rc != 0) {
    if (out_pipe[0] >= 0) {
      close(out_pipe[0]);
    }
    if (in_pipe[1] >= 0) {
      close(in_pipe[1]);
    }
    result.status = 127;
    result.spawn_error = rc;
    return result;
  }
  g_child_pid = pid;

  if (in_pipe[1] >= 0) {
    // Small inputs only (lists of module paths): a blocking write is fine.
    const char* p = spec.stdin_data.data();
    size_t left = spec.stdin_data.size();
    signal(SIGPIPE, SIG_IGN);
    while (left > 0) {
      ssize_t n = write(in_pipe[1], p, left);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    close(in_pipe[1]);
  }
  if (spec.while_running) {
    spec.while_running();
  }

  int pidfd = pidfd_open_compat(pid);
  auto interval = static_cast<int>(spec.tick_interval.count());
  auto next_tick = std::chrono::steady_clock::now() + spec.tick_interval;
  bool reaped = false;
  int wstatus = 0;
  auto try_reap = [&] {
    if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
      reaped = true;
      g_child_pid = 0;
      if (pidfd >= 0) {
        close(pidfd);
        pidfd = -1;
      }
    }
  };
  // Runs until the child is reaped and its output pipe (if any) is closed;
  // a grandchild holding the pipe keeps us reading, without spinning.
  while (!reaped || out_pipe[0] >= 0) {
    struct pollfd fds[2];
    int nfds = 0;
    if (out_pipe[0] >= 0) {
      fds[nfds++] = {out_pipe[0], POLLIN, 0};
    }
    if (!reaped && pidfd >= 0) {
      fds[nfds++] = {pidfd, POLLIN, 0};
    }
    int timeout = -1;
    if (spec.on_tick && !reaped) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_tick - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::max<long>(0, left.count()));
    } else if (!reaped && pidfd < 0) {
      timeout = 20; // no pidfd: fall back to polling the child
    }
    if (nfds == 0 && timeout < 0) {
      pid_t w;
      do {
        w = waitpid(pid, &wstatus, 0);
      } while (w < 0 && errno == EINTR);
      reaped = true;
      break;
    }
    int n = poll(fds, static_cast<nfds_t>(nfds), timeout);
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < nfds && n > 0; ++i) {
      if (fds[i].fd == out_pipe[0] && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[8192];
        ssize_t r = read(out_pipe[0], buf, sizeof buf);
        if (r > 0) {
          result.output.append(buf, static_cast<size_t>(r));
        } else if (r == 0 || (r < 0 && errno != EINTR)) {
          close(out_pipe[0]);
          out_pipe[0] = -1;
        }
      }
    }
    if (spec.on_tick && !reaped && std::chrono::steady_clock::now() >= next_tick) {
      spec.on_tick();
      next_tick += std::chrono::milliseconds(interval);
    }
    try_reap();
  }
  if (!reaped) {
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_pipe[0] >= 0) {
    char buf[8192];
    ssize_t r;
    while ((r = read(out_pipe[0], buf, sizeof buf)) > 0) {
      result.output.append(buf, static_cast<size_t>(r));
    }
    close(out_pipe[0]);
  }
  if (pidfd >= 0) {
    close(pidfd);
  }
  g_child_pid = 0;
  result.status = decode_status(wstatus);
  return result;
}

ProcessResult run_capture(const std::vector<std::string>& argv, const std::string& cwd) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.cwd = cwd;
  spec.out = Sink::capture;
  spec.merge_stderr = true;
  return run_process(spec);
}

std::string find_in_path(const std::string& name) {
  if (name.empty()) {
    return {};
  }
  if (name.find('/') != std::string::npos) {
    return util::is_executable_file(name) ? name : std::string();
  }
  const char* path = getenv("PATH");
  for (const auto& dir : util::split(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (util::is_executable_file(candidate)) {
      return candidate;
    }
  }
  return {};
}

} // namespace core
