#include "actions/parallel.hpp"

#include "actions/journal.hpp"
#include "core/module_index.hpp"
#include "core/signals.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace actions {

namespace {

struct Running {
  size_t index;
  pid_t pid;
  int fd;
  std::string buffer;
};

} // namespace

void run_jobs_in_order(core::Output& out, const std::vector<std::function<int()>>& jobs,
                       size_t slots,
                       const std::function<void(size_t, JobResult&)>& on_done) {
  if (slots == 0) {
    slots = 1;
  }
  std::vector<JobResult> results(jobs.size());
  std::vector<bool> finished(jobs.size(), false);
  std::vector<Running> running;
  size_t next_start = 0;
  size_t next_report = 0;

  auto start = [&](size_t i) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      results[i].status = 1;
      finished[i] = true;
      return;
    }
    // A child must inherit no half-done check (nor its lock), and no answer
    // its siblings' installs could make stale.
    core::drop_unused_module_index_checks();
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      core::forget_forked_units();
      out.set_record_fd(fds[1]);
      int status = jobs[i]();
      _exit(status & 0xff);
    }
    close(fds[1]);
    if (pid < 0) {
      close(fds[0]);
      results[i].status = 1;
      finished[i] = true;
      return;
    }
    core::track_forked_unit(pid);
    running.push_back({i, pid, fds[0], {}});
  };

  while (next_report < jobs.size()) {
    while (running.size() < slots && next_start < jobs.size()) {
      start(next_start++);
    }
    if (!running.empty()) {
      std::vector<pollfd> pfds;
      for (const auto& r : running) {
        pfds.push_back({r.fd, POLLIN, 0});
      }
      int n = poll(pfds.data(), pfds.size(), -1);
      if (n < 0 && errno != EINTR) {
        break;
      }
      for (size_t k = 0; k < pfds.size(); ++k) {
        if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) {
          continue;
        }
        Running& r = running[k];
        char buf[16384];
        ssize_t got = read(r.fd, buf, sizeof buf);
        if (got > 0) {
          r.buffer.append(buf, static_cast<size_t>(got));
          core::Output::decode_records(r.buffer, results[r.index].chunks);
          continue;
        }
        if (got < 0 && errno == EINTR) {
          continue;
        }
        // EOF: the child is done writing; collect its status.
        close(r.fd);
        r.fd = -1;
        int wstatus = 0;
        while (waitpid(r.pid, &wstatus, 0) < 0 && errno == EINTR) {
        }
        core::untrack_forked_unit(r.pid);
        if (WIFSIGNALED(wstatus)) {
          note_unit_killed();
        }
        results[r.index].status =
            WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        finished[r.index] = true;
      }
      std::erase_if(running, [](const Running& r) { return r.fd < 0; });
    }
    while (next_report < jobs.size() && finished[next_report]) {
      on_done(next_report, results[next_report]);
      ++next_report;
    }
  }
}

} // namespace actions
