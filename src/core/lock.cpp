#include "core/lock.hpp"

#include "util/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace core {

namespace {
const char* const k_held_env = "DKMS_TREE_LOCK_HELD";
}

TreeLock::TreeLock(Context& ctx, LockMode mode) {
  std::string tree = ctx.settings.dkms_tree;
  auto canonical = util::real_path(tree);
  std::string key = canonical ? *canonical : tree;
  const char* held = getenv(k_held_env);
  if (held != nullptr && key == held) {
    return; // our parent dkms holds it for us
  }
  const std::string& path = tree;
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    // No tree yet, or not ours to write (status as a user): nothing to
    // protect against, so go on unlocked.
    return;
  }
  int op = mode == LockMode::exclusive ? LOCK_EX : LOCK_SH;
  if (flock(fd, op | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      close(fd);
      return;
    }
    ctx.out.err_line("dkms: waiting for the lock on " + path +
                     " (another dkms is changing the tree)...");
    while (flock(fd, op) != 0) {
      if (errno != EINTR) {
        close(fd);
        return;
      }
    }
  }
  m_fd = fd;
  setenv(k_held_env, key.c_str(), 1);
}

TreeLock::~TreeLock() {
  if (m_fd >= 0) {
    unsetenv(k_held_env);
    close(m_fd);
  }
}

} // namespace core
