#pragma once

#include "core/context.hpp"

#include <string>

// The dkms tree lock (flock on DT/.dkms.lock, a name upstream's globs never
// match): actions that change state hold it exclusively, readers shared, so
// concurrent runs from package managers, systemd and users never interleave
// their changes.
namespace core {

enum class LockMode { shared, exclusive };

class TreeLock {
public:
  // Takes the lock, saying on stderr what it waits for if another run holds
  // it. Runs started by this one (hook scripts calling dkms) inherit it
  // through DKMS_TREE_LOCK_HELD and do not wait for their parent.
  TreeLock(Context& ctx, LockMode mode);
  ~TreeLock();
  TreeLock(const TreeLock&) = delete;
  TreeLock& operator=(const TreeLock&) = delete;

  bool held() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

} // namespace core
