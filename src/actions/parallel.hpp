#pragma once

#include "core/output.hpp"

#include <cstddef>
#include <functional>
#include <vector>

// Runs units of work in forked children (upstream runs them in subshells),
// at most `slots` at a time, with each child's output recorded and handed
// back in job order, so what the user reads is exactly the serial text.
namespace actions {

struct JobResult {
  int status = 0;
  std::vector<core::Output::Chunk> chunks;
};

// jobs[i] runs in a child and returns its exit status. on_done(i, result)
// is called in index order, as soon as job i and all before it finished.
void run_jobs_in_order(core::Output& out, const std::vector<std::function<int()>>& jobs,
                       size_t slots,
                       const std::function<void(size_t, JobResult&)>& on_done);

} // namespace actions
