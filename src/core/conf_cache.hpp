#pragma once

#include "core/context.hpp"
#include "core/dkms_conf.hpp"

#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A persistent record of dkms.conf evaluations for read-only paths such as
// status, so they need no bash child per entry. The record lives in the
// tree as DT/m/v/.conf-cache-<K>-<A>: upstream never enumerates dot files
// there (kernels are DT/m/v/+([0-9]).*, mktarball copies DT/m/v/K/A only)
// and `remove` deletes it with the version dir.
//
// Trust rule: a result is stored only when
//   - no --directive was given, output is neither captured nor quiet;
//   - the evaluation succeeded and printed nothing (so replaying it from the
//     cache prints exactly what bash would: nothing);
//   - every file of the chain is "static" (is_static_conf): assignments of
//     text whose only expansions are $NAME / ${NAME...} of variables dkms
//     defines, conf names, or names the same file assigned before;
//   - no file of the chain changed in the last second (a later edit within
//     the same timestamp tick could otherwise keep an identical stat key).
// It is used only while its key still matches: the main conf and every
// /etc/dkms override candidate (path plus dev, inode, size, mtime, ctime,
// or "absent"), /bin/bash itself, the shell-affecting environment
// (BASH_ENV, ENV, SHELLOPTS, BASHOPTS, POSIXLY_CORRECT), the module,
// version, kernel and arch, and the values of the dkms variables the conf
// text references. The distro-dependent install location is not stored; it
// is recomputed on every read.
namespace core {

// Defined in dkms_conf.cpp, next to the evaluator they describe.
const std::vector<std::string>& conf_accepted_names();
// Accepted names a strict read prints a "Deprecated feature" line for
// (CLEAN only when it names something other than true), in the order the
// lines are printed.
std::span<const std::string_view> deprecated_conf_names();
bool is_deprecated_conf_name(std::string_view name);
// The shell variables a conf sees (name, value), in definition order.
std::vector<std::pair<std::string, std::string>>
conf_shell_variables(const Context& ctx, const ConfRequest& request);
// The six /etc/dkms override candidates, present or not, in chain order.
std::vector<std::string> conf_override_candidates(const Context& ctx,
                                                  const ConfRequest& request);

// What the read-only users need of an evaluated conf: status its module
// records, install's dependency check (SPEC §2.14) the BUILD_DEPENDS words
// and whether BUILD_DEPENDS_REBUILD is set.
struct StatusConf {
  std::vector<ModuleSlot> modules;
  std::vector<std::string> build_depends;
  bool build_depends_rebuild = false;
};

// read_dkms_conf (lenient, request.main_file set) through the cache: same
// messages, same result for status purposes. nullopt for an invalid conf;
// a missing main file throws Exit as read_dkms_conf does.
std::optional<StatusConf> read_status_conf(Context& ctx, const ConfRequest& request);

// The record of one request, keyed when it is constructed, for callers
// that evaluate the conf themselves (with their own memo) and only want
// to skip that evaluation when the record answers.
class ConfRecord {
public:
  ConfRecord(Context& ctx, const ConfRequest& request);

  // The stored answer, without evaluating or printing anything; nullopt on
  // a miss or when the request cannot use the cache (a --directive, no
  // readable main file).
  std::optional<StatusConf> load() const;
  // The values bash handed back for the stored evaluation, to be
  // post-processed as a fresh one (ConfEvaluation::recorded); nullopt on a
  // miss, and for a strict request whose evaluation would have printed
  // deprecation warnings.
  std::optional<ShellValues> load_values() const;

  // Runs evaluate, which must read request.main_file with the request's
  // strictness through read_dkms_conf, passing it the ConfEvaluation. Its
  // text is printed as it would be; when bash ran, the result is stored if
  // the trust rule allows it (an evaluation that printed nothing, of static
  // files that did not change in the last second, output neither captured
  // nor quiet).
  std::optional<DkmsConf>
  read_through(const std::function<std::optional<DkmsConf>(ConfEvaluation&)>& evaluate);

private:
  bool storable(std::vector<std::pair<std::string, std::string>>& keyed_vars) const;

  Context& m_ctx;
  ConfRequest m_request;
  bool m_applies = false;
  std::string m_path;
  std::vector<std::string> m_fields;
  std::vector<std::string> m_chain; // existing files, in chain order
  long long m_newest_change_ns = 0;
  std::vector<std::pair<std::string, std::string>> m_vars;
};

// Writes a cache record through a temporary file and rename, without
// fsync: a lost or torn record is only a miss. Failures are ignored.
void write_cache_record(const std::string& path, const std::string& data);

// Where the record of one (m, v, K, A) lives.
std::string conf_cache_path(const Context& ctx, const ConfRequest& request);

// True if text is a conf the cache may trust (see the rule above). Adds the
// names of `known` variables the text references to *referenced.
bool is_static_conf(const std::string& text, const std::set<std::string>& known,
                    std::set<std::string>* referenced);

} // namespace core
