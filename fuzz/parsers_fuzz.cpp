// libFuzzer target for our in-process parsers: the first input byte picks
// the parser, the rest is its input. One binary keeps the CI job to a single
// bounded run while the corpus still separates the parsers by first byte.
//   0: cli::parse_command_line, argv split on NUL bytes
//   1: core::parse_modinfo on an ELF image
//   2: core::detect_compression / core::decompress with a small output cap
//   3: core::ver_key / core::filevercmp / core::ver_compare on two strings
#include "cli/options.hpp"
#include "core/compress.hpp"
#include "core/context.hpp"
#include "core/modinfo.hpp"
#include "core/output.hpp"
#include "core/version.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Small enough that a decompression bomb is cut off quickly.
constexpr size_t k_max_output = 1 << 16;

std::vector<std::string> split_nul(std::string_view data) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= data.size()) {
    size_t end = data.find('\0', start);
    if (end == std::string_view::npos) {
      end = data.size();
    }
    parts.emplace_back(data.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

void fuzz_options(std::string_view data) {
  core::Output out;
  // Keep messages (usage, warnings) in memory: formatting still runs, the
  // fuzzer's terminal stays readable.
  out.begin_capture();
  core::Context ctx(out);
  auto result = cli::parse_command_line(ctx, split_nul(data));
  if (result.outcome == cli::ParseOutcome::exit_now && result.exit_code < 0) {
    abort();
  }
  // "m/v" splitting must agree with the text it came from.
  core::Options opts;
  std::string text(data);
  cli::parse_module_version(text, opts);
  // Upstream: module is ${arg%%/*}, version ${arg#*/}.
  bool has_slash = text.find('/') != std::string::npos;
  if (has_slash ? opts.module + "/" + opts.version != text ||
                      opts.module.find('/') != std::string::npos
                : opts.module != text) {
    abort();
  }
  out.end_capture();
}

void fuzz_modinfo(std::string_view data) {
  auto info = core::parse_modinfo(data);
  if (info) {
    for (const auto& [key, value] : info->fields) {
      (void)info->get(key);
      if (!info->has(key)) {
        abort();
      }
      (void)value;
    }
    (void)core::version_info(*info);
  }
}

void fuzz_compression(std::string_view data) {
  auto kind = core::detect_compression(data);
  auto plain = core::decompress(data, k_max_output);
  if (plain && plain->size() > k_max_output && kind != core::Compression::none) {
    abort(); // the cap is the bomb defence: it must hold
  }
  if (kind == core::Compression::none && plain && *plain != data) {
    abort(); // uncompressed data comes back unchanged
  }
  (void)core::compression_from_suffix(data.substr(0, 4));
}

void fuzz_versions(std::string_view data) {
  size_t cut = data.find('\0');
  std::string a(data.substr(0, cut));
  std::string b(cut == std::string_view::npos ? std::string_view()
                                              : data.substr(cut + 1));
  (void)core::ver_key(a);
  int ab = core::filevercmp(a, b);
  int ba = core::filevercmp(b, a);
  // An ordering: antisymmetric, and reflexive on equal strings.
  if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0)) {
    abort();
  }
  if (core::filevercmp(a, a) != 0) {
    abort();
  }
  int vab = core::ver_compare(a, b);
  int vba = core::ver_compare(b, a);
  if ((vab < 0) != (vba > 0) || (vab == 0) != (vba == 0)) {
    abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] % 4) {
  case 0:
    fuzz_options(data);
    break;
  case 1:
    fuzz_modinfo(data);
    break;
  case 2:
    fuzz_compression(data);
    break;
  default:
    fuzz_versions(data);
    break;
  }
  return 0;
}
