#pragma once

#include "actions/common.hpp"

#include <string>
#include <vector>

// Intent records for the multi-step changes to a kernel's module tree. An
// install or uninstall writes DT/m/.install-pending-K-A (or
// .uninstall-pending-K-A: hidden, so upstream never sees them) before it
// touches /lib/modules and removes it when the kernel-K-A link says the
// change is complete. A run killed in between leaves the record; the next
// mutating dkms run rolls the install back, or completes the uninstall,
// before doing anything else.
namespace actions {

enum class JournalKind { install, uninstall };

void begin_journal(core::Context& ctx, const Unit& unit, JournalKind kind,
                   const std::vector<std::string>& files);
void end_journal(core::Context& ctx, const Unit& unit, JournalKind kind);

// Undoes this pair's install right away (an install that failed midway):
// our copies go, archived originals come back, the record is dropped.
void rollback_install(core::Context& ctx, const Unit& unit);

// Start of a run that holds the exclusive tree lock: resolves every leftover
// intent record in the dkms tree; sweeps half-written temporaries only when
// DT/.dkms-in-progress shows that an earlier run did not end (killed, or a
// forked unit of it was), since that sweep reads every directory of the
// tree; then marks the tree in progress for this run.
void recover_interrupted_changes(core::Context& ctx);
// A forked unit died by a signal: it may have left temporaries behind.
void note_unit_killed();
// End of the run (normal or by an error exit, not by a kill): clears the
// in-progress mark unless a forked unit was killed.
void finish_changes(core::Context& ctx);

} // namespace actions
