#include "core/output.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace core {

namespace {
void write_fd(int fd, std::string_view text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return; // a closed terminal must not turn into a failed install
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}
} // namespace

Output::Output() = default;

void Output::write(Stream stream, std::string_view text) {
  if (m_quiet || text.empty()) {
    return;
  }
  if (m_record_fd >= 0) {
    std::string rec;
    rec += stream == Stream::out ? 'o' : 'e';
    auto n = static_cast<uint32_t>(text.size());
    rec.append(reinterpret_cast<const char*>(&n), sizeof n);
    rec.append(text);
    write_fd(m_record_fd, rec);
    return;
  }
  if (m_capturing) {
    if (!m_chunks.empty() && m_chunks.back().stream == stream) {
      m_chunks.back().text += text;
    } else {
      m_chunks.push_back({stream, std::string(text)});
    }
    return;
  }
  write_fd(stream == Stream::out ? 1 : 2, text);
}

void Output::decode_records(std::string& buffer, std::vector<Chunk>& chunks) {
  size_t pos = 0;
  while (buffer.size() - pos >= 5) {
    uint32_t n;
    std::memcpy(&n, buffer.data() + pos + 1, sizeof n);
    if (buffer.size() - pos - 5 < n) {
      break;
    }
    Stream stream = buffer[pos] == 'o' ? Stream::out : Stream::err;
    std::string text = buffer.substr(pos + 5, n);
    if (!chunks.empty() && chunks.back().stream == stream) {
      chunks.back().text += text;
    } else {
      chunks.push_back({stream, std::move(text)});
    }
    pos += 5 + n;
  }
  buffer.erase(0, pos);
}

void Output::out(std::string_view text) {
  write(Stream::out, text);
}
void Output::err(std::string_view text) {
  write(Stream::err, text);
}

void Output::line(std::string_view text) {
  std::string s(text);
  s += '\n';
  write(Stream::out, s);
}

void Output::err_line(std::string_view text) {
  std::string s(text);
  s += '\n';
  write(Stream::err, s);
}

void Output::error(const std::vector<std::string>& lines) {
  std::string s = "\nError! ";
  for (size_t i = 0; i < lines.size(); ++i) {
    s += lines[i];
    s += '\n';
  }
  if (lines.empty()) {
    s += '\n';
  }
  write(Stream::err, s);
}

static std::string prefixed(const char* prefix, const std::vector<std::string>& lines) {
  std::string s = prefix;
  for (const auto& l : lines) {
    s += l;
    s += '\n';
  }
  if (lines.empty()) {
    s += '\n';
  }
  return s;
}

void Output::warning(const std::vector<std::string>& lines) {
  write(Stream::err, prefixed("Warning: ", lines));
}

void Output::deprecated(const std::vector<std::string>& lines) {
  write(Stream::err, prefixed("Deprecated feature: ", lines));
}

void Output::set_quiet() {
  m_quiet = true;
}

void Output::begin_capture() {
  m_capturing = true;
  m_chunks.clear();
}

std::vector<Output::Chunk> Output::end_capture() {
  m_capturing = false;
  return std::move(m_chunks);
}

void Output::replay(const std::vector<Chunk>& chunks) {
  for (const auto& c : chunks) {
    write(c.stream, c.text);
  }
}

int Output::stdout_fd() const {
  static int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (capturing()) {
    return -1;
  }
  return m_quiet ? devnull : 1;
}

int Output::stderr_fd() const {
  static int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (capturing()) {
    return -1;
  }
  return m_quiet ? devnull : 2;
}

} // namespace core
