#pragma once

#include "core/output.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Kernel module compression (SPEC §6.5, §6.6) through zlib, liblzma and
// libzstd, with formats kept in one table keyed by suffix and magic bytes.
namespace core {

enum class Compression { none, gzip, xz, zstd };

// ".gz", ".xz", ".zst" or "" for none.
std::string_view suffix_of(Compression c);
Compression compression_from_suffix(std::string_view suffix);
// Recognises the format from the first bytes of data.
Compression detect_compression(std::string_view data);

// Decompresses data of the detected format (returns data unchanged when
// uncompressed); nullopt on corrupt input or when the output would exceed
// max_output bytes (decompression bombs).
std::optional<std::string> decompress(std::string_view data,
                                      size_t max_output = size_t{1} << 30);

// The largest xz dictionary the kernel's module decompressor is given
// (framework.conf's default --lzma2=dict=1MiB).
inline constexpr uint32_t k_xz_max_dictionary = 1U << 20;
// The dictionary the default xz settings use for an input of this size:
// 1 MiB, or for smaller inputs the smallest size LZMA2 can name that holds
// the whole input (nothing a larger one could add; far less encoder memory).
uint32_t xz_dictionary_size(size_t input_size);

// Maps and faults in the working memory that compressing up to input_size
// bytes with these settings will take (and loads the library), so that the
// compress_file() that follows does not pay a page fault per page of it.
// Meant to run while something else is waited for (strip). Does nothing
// when a command-line tool would compress; never fails.
void prepare_compression(Compression c, const std::string& options,
                         size_t input_size) noexcept;

// Compresses `path` in place as upstream's `gzip/xz/zstd <opts> -f path`
// does: writes path+suffix (atomically, not fsync'ed: it is an intermediate
// the caller copies where it must last), removes path. `options` is the
// framework.conf option string (compress_*_opts); the default strings are
// mapped onto library settings, anything else runs the command-line tool
// with those options so user settings keep their meaning. Returns false on
// failure, leaving `path` in place.
bool compress_file(const std::string& path, Compression c, const std::string& options);
// Same; a command-line tool's output goes through `out` (its fds, or into
// the capture while out is capturing) instead of the process's stdout/stderr.
bool compress_file(const std::string& path, Compression c, const std::string& options,
                   Output& out);

} // namespace core
