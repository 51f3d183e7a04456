#pragma once

#include <string>
#include <string_view>
#include <vector>

// All user-visible text goes through Output so that stdout and stderr lines
// interleave exactly as upstream's (each write goes straight to the fd, no
// stdio buffering), and so that a run can be captured for later replay
// (parallel autoinstall prints each module's text in upstream's order).
namespace core {

enum class Stream { out, err };

class Output {
public:
  Output();

  void out(std::string_view text);  // stdout, as is
  void err(std::string_view text);  // stderr, as is
  void line(std::string_view text); // stdout + newline
  void err_line(std::string_view text);

  // Upstream's primitives (SPEC §0.3).
  void error(const std::vector<std::string>& lines);
  void warning(const std::vector<std::string>& lines);
  void deprecated(const std::vector<std::string>& lines);

  // -q: everything from now on is discarded.
  void set_quiet();
  bool quiet() const { return m_quiet; }

  // Capture mode: text is kept in memory instead of written.
  void begin_capture();
  struct Chunk {
    Stream stream;
    std::string text;
  };
  std::vector<Chunk> end_capture();
  bool capturing() const { return m_capturing || m_record_fd >= 0; }
  void replay(const std::vector<Chunk>& chunks);

  // Record mode, for a unit run in a forked child: every write becomes a
  // record (stream byte, 4-byte length, bytes) on fd, which the parent
  // decodes with decode_records() and replays in upstream's order.
  void set_record_fd(int fd) { m_record_fd = fd; }
  // Appends complete records from buffer to chunks, leaving a partial tail.
  static void decode_records(std::string& buffer, std::vector<Chunk>& chunks);

  // File descriptors children should write to (the terminal, or /dev/null
  // when quiet). In capture mode these are -1: callers must pipe instead.
  int stdout_fd() const;
  int stderr_fd() const;

private:
  void write(Stream stream, std::string_view text);

  bool m_quiet = false;
  bool m_capturing = false;
  int m_record_fd = -1;
  std::vector<Chunk> m_chunks;
};

} // namespace core
