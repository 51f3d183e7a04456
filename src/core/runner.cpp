#include "core/runner.hpp"

#include "core/exit.hpp"
#include "core/signals.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

std::string format_elapsed(long seconds) {
  char buf[32];
  long h = (seconds / 3600) % 24;
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", h, (seconds / 60) % 60,
                seconds % 60);
  return buf;
}

std::string shell_var_prefix(const ShellVars& vars) {
  std::string s;
  for (const auto& [name, value] : vars) {
    s += name + "=" + util::shell_quote(value) + "\n";
  }
  return s;
}

namespace {

// echo -e: interpret backslash escapes the way bash's builtin echo does.
int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | ((cp >> 18) & 0x07));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string echo_e(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    char n = text[++i];
    switch (n) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case 'a':
      out += '\a';
      break;
    case 'b':
      out += '\b';
      break;
    case 'e':
    case 'E':
      out += '\x1b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'v':
      out += '\v';
      break;
    case '\\':
      out += '\\';
      break;
    case 'c':
      return out;
    case '0': {
      // \0nnn: up to three octal digits
      int value = 0;
      for (int k = 0;
           k < 3 && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7';
           ++k) {
        value = value * 8 + (text[++i] - '0');
      }
      out += static_cast<char>(value);
      break;
    }
    case 'x':
    case 'u':
    case 'U': {
      size_t max_digits = n == 'x' ? 2 : n == 'u' ? 4 : 8;
      unsigned long value = 0;
      size_t digits = 0;
      while (digits < max_digits && i + 1 < text.size() && hex_value(text[i + 1]) >= 0) {
        value = value * 16 + static_cast<unsigned long>(hex_value(text[++i]));
        ++digits;
      }
      if (digits == 0) {
        out += '\\';
        out += n;
      } else if (n == 'x') {
        out += static_cast<char>(value);
      } else {
        append_utf8(out, value);
      }
      break;
    }
    default:
      out += '\\';
      out += n;
      break;
    }
  }
  return out;
}

void append_to(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0) {
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  close(fd);
}

// Bash's builtins and reserved words (bash 5.2: compgen -b, compgen -k):
// such a first word is not a program.
// clang-format off
constexpr std::string_view k_bash_words[] = {
    ".", ":", "[", "alias", "bg", "bind", "break", "builtin", "caller", "cd",
    "command", "compgen", "complete", "compopt", "continue", "declare", "dirs",
    "disown", "echo", "enable", "eval", "exec", "exit", "export", "false", "fc",
    "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let", "local",
    "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray",
    "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test",
    "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "wait", "if", "then", "else", "elif", "fi", "case", "esac", "for",
    "select", "while", "until", "do", "done", "in", "function", "time", "{", "}",
    "!", "[[", "]]", "coproc"};
// clang-format on

bool is_plain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_./+-=:,@%").find(c) != std::string_view::npos;
}

// A binary, or a #! script whose interpreter is there: what execve runs as
// it is (bash runs any other file as a shell script itself, and reports a
// missing interpreter in words of its own).
bool execs_directly(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  char head[256] = {};
  ssize_t n = read(fd, head, sizeof head - 1);
  close(fd);
  std::string_view text(head, n > 0 ? static_cast<size_t>(n) : 0);
  if (text.starts_with("\x7f"
                       "ELF")) {
    return true;
  }
  if (!text.starts_with("#!")) {
    return false;
  }
  text.remove_prefix(2);
  size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    return false;
  }
  size_t end = text.find_first_of(" \t\n", start);
  if (end == std::string_view::npos) {
    return false; // longer than we read: let bash deal with it
  }
  std::string interpreter(text.substr(start, end - start));
  return interpreter[0] == '/' && util::is_executable_file(interpreter);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace

std::optional<std::string> env_lookup(const std::vector<std::string>& env,
                                      std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e[name.size()] == '=' && e.starts_with(name)) {
      return e.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

std::string_view env_entry_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

bool has_bash_special_name(const std::vector<std::string>& env) {
  return std::any_of(env.begin(), env.end(), [](const std::string& e) {
    return bash_special_name(env_entry_name(e));
  });
}

// Checked against bash by tests/unit/core/runner_test.cpp.
bool bash_special_name(std::string_view name) {
  // clang-format off
  static constexpr std::string_view names[] = {
      "IFS", "PS1", "PS2", "PS3", "PS4", "LINENO", "OPTERR", "OPTIND", "PPID",
      "RANDOM", "SRANDOM", "SECONDS", "EPOCHSECONDS", "EPOCHREALTIME", "HISTCMD",
      "COMP_WORDBREAKS", "ENV", "SHELLOPTS", "POSIXLY_CORRECT", "UID", "EUID",
      "GROUPS", "FUNCNAME", "DIRSTACK", "PIPESTATUS", "HISTFILE", "HISTSIZE",
      "HISTFILESIZE", "MAILCHECK", "TMOUT", "GLOBIGNORE", "EXECIGNORE", "CDPATH",
      "TIMEFORMAT"};
  // clang-format on
  if (name.starts_with("BASH")) {
    return true; // BASH_ENV, BASHOPTS, BASH_FUNC_*, BASH_XTRACEFD, ...
  }
  for (auto n : names) {
    if (n == name) {
      return true;
    }
  }
  return false;
}

std::optional<DirectCommand> direct_command(const std::string& command,
                                            const ShellVars& vars,
                                            const std::vector<std::string>& env,
                                            const std::string& cwd) {
  for (char c : command) {
    if (c != ' ' && c != '\t' && !is_plain_char(c)) {
      return std::nullopt;
    }
  }
  std::vector<std::string> words = util::split_words(command);
  if (words.empty() || words[0].find('=') != std::string::npos) {
    return std::nullopt; // nothing, or an assignment
  }
  for (auto w : k_bash_words) {
    if (w == words[0]) {
      return std::nullopt;
    }
  }
  if (has_bash_special_name(env)) {
    return std::nullopt;
  }
  for (const auto& [name, value] : vars) {
    if (env_lookup(env, name)) {
      return std::nullopt; // bash would export the new value
    }
  }
  // bash's PATH search: the first executable regular file.
  std::string program;
  if (words[0].find('/') != std::string::npos) {
    if (words[0][0] != '/') {
      return std::nullopt;
    }
    program = words[0];
  } else {
    auto path = env_lookup(env, "PATH");
    if (!path || path->empty()) {
      return std::nullopt;
    }
    for (const auto& dir : util::split(*path, ':')) {
      if (dir.empty() || dir[0] != '/') {
        return std::nullopt; // relative to bash's cwd: not worth following
      }
      if (util::is_executable_file(dir + "/" + words[0])) {
        program = dir + "/" + words[0];
        break;
      }
    }
  }
  if (program.empty() || !util::is_executable_file(program) || !execs_directly(program)) {
    return std::nullopt;
  }
  // SHLVL as bash raises it; it warns from 1000 on.
  std::string shlvl = env_lookup(env, "SHLVL").value_or("");
  if (shlvl.size() > 3 || shlvl.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int level = shlvl.empty() ? 1 : std::stoi(shlvl) + 1;
  if (level >= 1000) {
    return std::nullopt;
  }
  // PWD: bash keeps an inherited one naming its directory, else sets the
  // physical path.
  std::string dir = cwd.empty() ? "." : cwd;
  auto pwd = env_lookup(env, "PWD");
  if (pwd && !pwd->empty() && (*pwd)[0] == '/' && same_file(*pwd, dir)) {
    return std::nullopt; // bash's canonical form of it is not worth copying
  }
  auto physical = util::real_path(dir);
  if (!physical) {
    return std::nullopt;
  }
  DirectCommand direct;
  direct.argv = std::move(words);
  direct.env_set = {{"PWD", *physical}, {"SHLVL", std::to_string(level)}, {"_", program}};
  // An OLDPWD that is not a directory bash keeps to itself.
  if (auto oldpwd = env_lookup(env, "OLDPWD"); oldpwd && !util::is_dir(*oldpwd)) {
    direct.env_unset.push_back("OLDPWD");
  }
  direct.argv[0] = program;
  return direct;
}

int invoke(Context& ctx, const Invocation& inv) {
  bool verbose = ctx.verbose();
  if (verbose) {
    ctx.out.line(echo_e(inv.command));
  } else {
    ctx.out.out(echo_e(inv.description) + "...");
  }

  ProcessSpec spec;
  spec.cwd = inv.cwd;
  spec.env_set = inv.env;
  // Upstream evals the text in a subshell of dkms; the prefix recreates the
  // dkms variables that text may refer to. A line of plain words runs as
  // bash would run it, without bash (make, mostly).
  ProcessSpec for_bash;
  for_bash.env_set = inv.env;
  const std::vector<std::string> bash_argv = {
      "bash", "-c", shell_var_prefix(inv.vars) + "eval \"$1\"", "dkms", inv.command};
  bool direct_run = false;
  if (auto direct =
          direct_command(inv.command, inv.vars, child_environment(for_bash), inv.cwd)) {
    direct_run = true;
    spec.argv = std::move(direct->argv);
    for (auto& kv : direct->env_set) {
      spec.env_set.push_back(std::move(kv));
    }
    spec.env_unset = std::move(direct->env_unset);
  } else {
    spec.argv = bash_argv;
  }
  bool dots =
      inv.background && !verbose && !util::glob_match("dkms*_test", inv.package_name);
  if (dots) {
    spec.on_tick = [&ctx] { ctx.out.out("."); };
  }

  int log_fd = -1;
  auto start = std::chrono::steady_clock::now();
  if (!inv.log_file.empty()) {
    append_to(inv.log_file, "\n" + echo_e(inv.description) + "\n" +
                                echo_e("# command: " + inv.command) + "\n");
    log_fd = open(inv.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    spec.out = Sink::inherit;
    spec.out_fd = log_fd;
    spec.merge_stderr = true;
  } else if (inv.background && !verbose) {
    spec.out = Sink::discard;
    spec.merge_stderr = true;
  } else if (ctx.out.capturing()) {
    spec.out = Sink::capture;
    spec.merge_stderr = true;
  } else {
    spec.out_fd = ctx.out.stdout_fd();
    spec.err_fd = ctx.out.stderr_fd();
  }
  ProcessResult r = run_process(spec);
  if (direct_run && r.spawn_error != 0) {
    // The program could not be executed at all (no loader, noexec mount,
    // ...): bash then explains why, into the same log, with its own status.
    spec.argv = bash_argv;
    spec.env_set = inv.env;
    spec.env_unset.clear();
    r = run_process(spec);
  }
  if (log_fd >= 0) {
    close(log_fd);
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    append_to(inv.log_file, "\n# exit code: " + std::to_string(r.status) + "\n" +
                                "# elapsed time: " + format_elapsed(secs) + "\n" +
                                std::string(64, '-') + "\n");
  } else if (spec.out == Sink::capture) {
    ctx.out.out(r.output);
  }

  if (int sig = interrupted_signal(); sig != 0) {
    ctx.out.line("(interrupted)");
    throw Exit{128 + sig};
  }
  if (r.status > 0) {
    ctx.out.out("(bad exit status: " + std::to_string(r.status) + ")");
    if (!verbose) {
      ctx.out.out(echo_e("\nFailed command:\n" + inv.command) + "\n");
    }
  } else {
    ctx.out.line(" done.");
  }
  return r.status;
}

} // namespace core
