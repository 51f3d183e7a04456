#include "core/runner.hpp"

#include "core/exit.hpp"
#include "core/signals.hpp"
#include "core/subprocess.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <cstdio>
#include <fcntl.h>
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

} // namespace

int invoke(Context& ctx, const Invocation& inv) {
  bool verbose = ctx.verbose();
  if (verbose) {
    ctx.out.line(echo_e(inv.command));
  } else {
    ctx.out.out(echo_e(inv.description) + "...");
  }

  ProcessSpec spec;
  // Upstream evals the text in a subshell of dkms; the prefix recreates the
  // dkms variables that text may refer to.
  spec.argv = {"bash", "-c", shell_var_prefix(inv.vars) + "eval \"$1\"", "dkms",
               inv.command};
  spec.cwd = inv.cwd;
  spec.env_set = inv.env;
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
