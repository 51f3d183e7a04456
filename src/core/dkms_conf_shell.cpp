#include "core/dkms_conf_shell.hpp"

#include "core/dkms_conf_literal.hpp"
#include "core/runner.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace core {

namespace {

// The evaluator. Arguments (after $0): <n> then n name/value pairs of
// visible variables; <n> names; unset-flag; positional; <n> files;
// deprecation-flag; <n> then n/2 directive name/value pairs.
constexpr std::string_view k_preamble = R"BASH(shopt -s extglob
__dkms_n=$1; shift
while (( __dkms_n-- > 0 )); do builtin printf -v "$1" '%s' "$2"; shift 2; done
__dkms_names=("${@:2:$1}"); shift $(( $1 + 1 ))
__dkms_unset=$1; __dkms_positional=$2; shift 2
__dkms_files=("${@:2:$1}"); shift $(( $1 + 1 ))
__dkms_deprecations=$1; shift
__dkms_directives=("${@:2:$1}"); shift $(( $1 + 1 ))
readonly __dkms_cr=$'\r'
(( __dkms_unset )) && unset "${__dkms_names[@]}"
set -- "$__dkms_positional"
)BASH";

// Phase A mirrors upstream's safe_source(): the file is sourced in a
// subshell and every imported element is printed as NAME[i]="VALUE" by an
// unquoted `echo` (so whitespace runs collapse and globs apply, exactly as
// upstream), one trailing CR removed. Phase B evaluates that text again in
// the main shell: the second expansion. Results go to fd 3, NUL-separated.
constexpr std::string_view k_chain_body_start =
    R"BASH(for __dkms_file in "${__dkms_files[@]}"; do
  __dkms_text=$(
    exec 3>&-
    . "$__dkms_file" >/dev/null
)BASH";

// Phase A's echo of every element of the imported names.
constexpr std::string_view k_echo_elements =
    R"BASH(for __dkms_name in "${__dkms_names[@]}"; do
  eval "__dkms_idx=(\"\${!$__dkms_name[@]}\")"
  for __dkms_i in "${__dkms_idx[@]}"; do
    eval "echo \$__dkms_name[\$__dkms_i]=\\\"\${$__dkms_name[\$__dkms_i]%\$__dkms_cr}\\\""
  done
done
)BASH";

constexpr std::string_view k_chain_body_end =
    R"BASH(    # Legacy DKMS_DIRECTIVE* variables; the external pipeline only runs
    # when such a variable exists.
    if [[ ${!DKMS_DIRECTIVE*} ]]; then
      for __dkms_d in $(set | grep ^DKMS_DIRECTIVE | cut -d = -f 2-3); do
        echo "${__dkms_d%%=*}=\"${__dkms_d#*=}\""
      done
    fi
  )
  # Sourced rather than eval'ed: a syntax error must end only this text, as
  # it does for upstream's temporary file.
  . /dev/stdin <<<"$__dkms_text"
  if (( __dkms_deprecations )); then
    if (( ${#CLEAN[@]} )); then
      case "$CLEAN" in
        true|/bin/true|/usr/bin/true) ;;
        *) builtin printf 'Deprecated feature: CLEAN (%s)\n' "$__dkms_file" >&2 ;;
      esac
    fi
    for __dkms_name in REMAKE_INITRD MODULES_CONF MODULES_CONF_OBSOLETES \
        MODULES_CONF_ALIAS_TYPE MODULES_CONF_OBSOLETE_ONLY; do
      eval "__dkms_idx=(\"\${!$__dkms_name[@]}\")"
      (( ${#__dkms_idx[@]} )) &&
        builtin printf 'Deprecated feature: %s (%s)\n' "$__dkms_name" "$__dkms_file" >&2
    done
  fi
done
for (( __dkms_j = 0; __dkms_j + 1 < ${#__dkms_directives[@]}; __dkms_j += 2 )); do
  export "${__dkms_directives[__dkms_j]}=${__dkms_directives[__dkms_j + 1]}"
done
for __dkms_name in "${__dkms_names[@]}"; do
  eval "__dkms_idx=(\"\${!$__dkms_name[@]}\")"
  for __dkms_i in "${__dkms_idx[@]}"; do
    eval "__dkms_v=\${$__dkms_name[\$__dkms_i]}"
    builtin printf '%s\0%s\0%s\0' "$__dkms_name" "$__dkms_i" "$__dkms_v" >&3
  done
done
)BASH";

// The same phase A for one file without the subshell's fork (~4 ms here):
// bash is thrown away afterwards, so what the file leaves behind only
// matters for phase B, which the caller does itself when the echoed text
// is plain NAME[i]="TEXT" lines (parse_phase_a). The text goes to fd 3,
// then any EXIT trap the file set (it would run inside upstream's
// subshell), then an end line; a file that exits, execs or sets legacy
// DKMS_DIRECTIVE variables leaves no end line, or an extra line.
constexpr std::string_view k_single_body_start = R"BASH(__dkms_file=${__dkms_files[0]}
{ . "$__dkms_file" >/dev/null; } 3>&-
{
)BASH";

constexpr std::string_view k_single_body_end =
    R"BASH(  [[ ${!DKMS_DIRECTIVE*} ]] && builtin echo "DKMS_DIRECTIVE"
  builtin trap -p EXIT
  builtin echo "__dkms_end"
} >&3
)BASH";

const std::string& chain_script() {
  static const std::string script =
      std::string(k_preamble) + std::string(k_chain_body_start) +
      std::string(k_echo_elements) + std::string(k_chain_body_end);
  return script;
}

const std::string& single_script() {
  static const std::string script =
      std::string(k_preamble) + std::string(k_single_body_start) +
      std::string(k_echo_elements) + std::string(k_single_body_end);
  return script;
}

// Ours less what upstream removes at start-up, so conf files never see it.
std::vector<std::string> conf_environment() {
  ProcessSpec spec;
  spec.env_unset = {"CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS"};
  return child_environment(spec);
}

std::vector<std::string> script_arguments(const ShellChain& chain,
                                          const std::string& script) {
  std::vector<std::string> args = {"/bin/bash", "-c", script, "dkms"};
  args.push_back(std::to_string(chain.variables.size()));
  for (const auto& [name, value] : chain.variables) {
    args.push_back(name);
    args.push_back(value);
  }
  args.push_back(std::to_string(chain.names.size()));
  args.insert(args.end(), chain.names.begin(), chain.names.end());
  args.push_back(chain.unset_names_first ? "1" : "0");
  args.push_back(chain.positional);
  args.push_back(std::to_string(chain.files.size()));
  args.insert(args.end(), chain.files.begin(), chain.files.end());
  args.push_back(chain.deprecation_warnings ? "1" : "0");
  args.push_back(std::to_string(chain.directives.size() * 2));
  for (const auto& [name, value] : chain.directives) {
    args.push_back(name);
    args.push_back(value);
  }
  return args;
}

// Moves an fd above the standard ones so the child's dup2 sequence onto
// 1, 2 and 3 can never clobber a source it still needs.
int high_fd(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return false;
    }
    read = high_fd(fds[0]);
    write = high_fd(fds[1]);
    ::close(fds[0]);
    ::close(fds[1]);
    return read >= 0 && write >= 0;
  }
};

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

struct ScriptRun {
  std::string results; // what fd 3 received
  std::string held_out;
  std::string held_err;
  int status = -1;
};

// Spawns bash with fd 3 = results pipe; stdout/stderr either our real fds
// or pipes forwarded through ctx.out (capture mode). With hold_output,
// stdout and stderr are kept in held_out/held_err instead, for the caller
// to print or drop.
ScriptRun run_script(const Context& ctx, const std::vector<std::string>& argv,
                     const std::vector<std::string>& env, bool hold_output = false) {
  Output& out = ctx.out;
  ScriptRun run;
  Pipe results;
  Pipe out_pipe;
  Pipe err_pipe;
  int out_src = -1;
  int err_src = -1;
  bool ok = results.open();
  if (out.stdout_fd() < 0 || hold_output) {
    ok = ok && out_pipe.open();
    out_src = out_pipe.write;
  } else {
    out_src = high_fd(out.stdout_fd());
  }
  if (out.stderr_fd() < 0 || hold_output) {
    ok = ok && err_pipe.open();
    err_src = err_pipe.write;
  } else {
    err_src = high_fd(out.stderr_fd());
  }

  pid_t pid = -1;
  if (ok && out_src >= 0 && err_src >= 0) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_src, 1);
    posix_spawn_file_actions_adddup2(&actions, err_src, 2);
    posix_spawn_file_actions_adddup2(&actions, results.write, 3);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) {
      sigaddset(&defaults, sig);
    }
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> envp;
    for (const auto& e : env) {
      envp.push_back(const_cast<char*>(e.c_str())); // exec does not write to it
    }
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argvp;
    for (auto& a : args) {
      argvp.push_back(a.data());
    }
    argvp.push_back(nullptr);
    const char* shell = util::is_executable_file("/bin/bash") ? "/bin/bash" : "bash";
    if (posix_spawnp(&pid, shell, &actions, &attr, argvp.data(), envp.data()) != 0) {
      pid = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  if (out_pipe.write != out_src) {
    close_fd(out_src);
  }
  if (err_pipe.write != err_src) {
    close_fd(err_src);
  }
  close_fd(results.write);
  close_fd(out_pipe.write);
  close_fd(err_pipe.write);

  std::string& data = run.results;
  if (pid > 0) {
    // Drain all pipes until every writer is gone; forward text in arrival order.
    while (results.read >= 0 || out_pipe.read >= 0 || err_pipe.read >= 0) {
      struct pollfd fds[3];
      int* owners[3];
      nfds_t n = 0;
      for (int* fd : {&results.read, &out_pipe.read, &err_pipe.read}) {
        if (*fd >= 0) {
          fds[n] = {*fd, POLLIN, 0};
          owners[n++] = fd;
        }
      }
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      for (nfds_t i = 0; i < n; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        char buf[8192];
        ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) {
          continue;
        }
        if (r <= 0) {
          close_fd(*owners[i]);
          continue;
        }
        std::string_view chunk(buf, static_cast<size_t>(r));
        if (owners[i] == &results.read) {
          data.append(chunk);
        } else if (hold_output) {
          (owners[i] == &out_pipe.read ? run.held_out : run.held_err).append(chunk);
        } else if (owners[i] == &out_pipe.read) {
          out.out(chunk);
        } else {
          out.err(chunk);
        }
      }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    run.status = status;
  }
  close_fd(results.read);
  close_fd(out_pipe.read);
  close_fd(err_pipe.read);
  return run;
}

ShellValues decode(const std::string& data) {
  ShellValues values;
  size_t pos = 0;
  auto next = [&](std::string& field) {
    size_t end = data.find('\0', pos);
    if (end == std::string::npos) {
      return false;
    }
    field.assign(data, pos, end - pos);
    pos = end + 1;
    return true;
  };
  std::string name, index, value;
  while (next(name) && next(index) && next(value)) {
    unsigned i = 0;
    auto [ptr, ec] = std::from_chars(index.data(), index.data() + index.size(), i);
    if (ec != std::errc() || ptr != index.data() + index.size()) {
      continue; // associative arrays are not something upstream handles either
    }
    values[name][i] = value;
  }
  return values;
}

bool is_decimal(std::string_view s) {
  return !s.empty() && s.size() <= 9 && (s.size() == 1 || s[0] != '0') &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Text that double quotes keep as it is: no $, ` or ", and a backslash
// only before a character it does not escape there (as in a regex's "\.").
bool is_plain_in_double_quotes(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '$' || c == '`' || c == '"') {
      return false;
    }
    if (c == '\\') {
      if (i + 1 == value.size() ||
          std::string_view("$`\"\\\n").find(value[i + 1]) != std::string_view::npos) {
        return false;
      }
      ++i;
    }
  }
  return true;
}

// Phase B of single_script()'s text, done here: sourcing lines
// NAME[i]="TEXT" whose TEXT double quotes keep as it is assigns TEXT,
// whatever the shell's state. Any other line, or no end line, is bash's
// to read: nullopt.
std::optional<ShellValues> parse_phase_a(std::string_view text,
                                         const std::vector<std::string>& names) {
  static constexpr std::string_view k_end = "__dkms_end\n";
  if (!text.ends_with(k_end)) {
    return std::nullopt;
  }
  text.remove_suffix(k_end.size());
  ShellValues values;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) {
      continue;
    }
    size_t open = line.find('[');
    size_t close = line.find("]=\"");
    if (open == std::string_view::npos || close == std::string_view::npos ||
        close < open || line.size() < close + 4 || line.back() != '"') {
      return std::nullopt;
    }
    std::string_view name = line.substr(0, open);
    std::string_view index = line.substr(open + 1, close - open - 1);
    std::string_view value = line.substr(close + 3, line.size() - close - 4);
    if (std::find(names.begin(), names.end(), name) == names.end() ||
        !is_decimal(index) || !is_plain_in_double_quotes(value)) {
      return std::nullopt;
    }
    unsigned i = 0;
    std::from_chars(index.data(), index.data() + index.size(), i);
    values[std::string(name)][i] = std::string(value);
  }
  return values;
}

// Variables whose value differs between upstream's subshell and
// single_script()'s main shell.
bool names_subshell_variables(const std::string& file) {
  auto text = util::read_file(file);
  return !text || text->find("BASH_SUBSHELL") != std::string::npos ||
         text->find("BASHPID") != std::string::npos ||
         text->find("BASH_LINENO") != std::string::npos;
}

// evaluate_chain_in_bash / evaluate_chain_in_one_shell with the conf
// environment made once by the caller.
ShellValues in_bash(const Context& ctx, const ShellChain& chain,
                    const std::vector<std::string>& env) {
  return decode(run_script(ctx, script_arguments(chain, chain_script()), env).results);
}

std::optional<ShellValues> in_one_shell(const Context& ctx, const ShellChain& chain,
                                        const std::vector<std::string>& env) {
  if (chain.files.size() != 1 || !chain.unset_names_first || !chain.directives.empty() ||
      !util::is_regular(chain.files[0]) || names_subshell_variables(chain.files[0]) ||
      has_bash_special_name(env)) {
    // SHELLOPTS, BASH_ENV, PS4, ...: how bash runs the script (traces,
    // errexit) would show where the two scripts differ.
    return std::nullopt;
  }
  ScriptRun run = run_script(ctx, script_arguments(chain, single_script()), env, true);
  // Upstream's main shell prints nothing on stdout for such a text: output
  // there came from something the subshell would have kept (an EXIT trap).
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0 || !run.held_out.empty()) {
    return std::nullopt;
  }
  auto values = parse_phase_a(run.results, chain.names);
  if (!values) {
    return std::nullopt;
  }
  ctx.out.err(run.held_err);
  if (chain.deprecation_warnings) {
    ctx.out.err(deprecation_warnings(*values, chain.files[0]));
  }
  return values;
}

} // namespace

ShellValues evaluate_chain(const Context& ctx, const ShellChain& chain) {
  const std::vector<std::string> env = conf_environment();
  if (auto answer = literal_chain_values(chain, env, util::list_dir("."))) {
    if (!answer->warnings.empty()) {
      ctx.out.err(answer->warnings);
    }
    return std::move(answer->values);
  }
  if (auto values = in_one_shell(ctx, chain, env)) {
    return std::move(*values);
  }
  return in_bash(ctx, chain, env);
}

ShellValues evaluate_chain_in_bash(const Context& ctx, const ShellChain& chain) {
  return in_bash(ctx, chain, conf_environment());
}

std::optional<ShellValues> evaluate_chain_in_one_shell(const Context& ctx,
                                                       const ShellChain& chain) {
  return in_one_shell(ctx, chain, conf_environment());
}

} // namespace core
