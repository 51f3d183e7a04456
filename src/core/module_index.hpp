#pragma once

#include "core/context.hpp"

#include <string>
#include <vector>

// What dkms asks of a kernel's module tree IT/K, where upstream runs find(1)
// over all of it (thousands of files in about a thousand directories): the
// compression suffix its modules use (SPEC §6.5) and the regular files with
// given names (install's search for same-named modules, SPEC §7.2-7.3).
//
// Answers come from an index kept in the dkms tree, DT/.module-index-K
// (upstream never enumerates dot files there): every directory below IT/K
// with its identity stamp (device, inode, ctime) and the names in it that
// matter (subdirectories, and names containing ".ko"). A directory's
// entries cannot change without its ctime changing, so checking the stamps
// proves the index current; a directory whose stamp differs is read again,
// alone. A directory changed within the last second is stored without a
// stamp (a later change in the same timestamp tick could keep it), and is
// read again next time.
namespace core {

// How much of the tree to check against the index. Proving that no module
// with another suffix appeared anywhere takes a stat per directory;
// `top_levels` trusts the stored answer while IT/K and the two levels below
// it keep their stamps (depmod, kernel packages and dkms itself change
// those whenever they add modules), and checks every directory as soon as
// one of them changed. Read-only status uses it; commands that change the
// tree use every_directory.
enum class SuffixCheck { every_directory, top_levels };

// ".zst", ".xz", ".gz" or "": the last of upstream's checks that finds a
// name ending in .ko<suffix> anywhere below IT/K/.
std::string indexed_compression_suffix(const Context& ctx, const std::string& kernel,
                                       SuffixCheck check);

// find IT/K -type f -name N1 -o -name N2 ..., in the order of
// util::find_files_named (names sorted within each directory, depth first).
// Every name must contain ".ko" (only those are indexed).
std::vector<std::string> indexed_files_named(const Context& ctx,
                                             const std::string& kernel,
                                             const std::vector<std::string>& names);

// Starts checking K's index on a thread of its own, so that its stat per
// directory overlaps work that leaves IT/K alone (make, strip, signing).
// The next question about K takes that check's answer, waiting for it if
// need be, instead of checking again: the answer is as of when the check
// ran. Callers discard it when code that may change IT/K (a user's script)
// ran since it started.
void check_module_index_ahead(const Context& ctx, const std::string& kernel);
void discard_module_index_ahead(const Context& ctx, const std::string& kernel);
// Waits for every check ahead.
void wait_for_module_index_checks();
// Waits for every check ahead and drops the answers not used yet (at the
// end of a unit, and before fork).
void drop_unused_module_index_checks();

// Drops what this process learnt of every index, as a new process starts:
// the next question reads the record again (for tests).
void forget_checked_module_indexes();

// Where the index of K lives.
std::string module_index_path(const Context& ctx, const std::string& kernel);

} // namespace core
