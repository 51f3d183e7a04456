#pragma once

#include "core/context.hpp"

#include <string>

// The dkms tree lock: flock(2) on the dkms tree directory itself (so the
// tree holds no extra file that upstream would not have), exclusive for
// actions that change state, shared for readers, so concurrent runs from
// package managers, systemd and users never interleave their changes.
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
