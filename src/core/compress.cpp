#include "core/compress.hpp"

#include "core/dynlib.hpp"
#include "core/subprocess.hpp"
#include "util/fs.hpp"
#include "util/prefaulted_arena.hpp"
#include "util/strings.hpp"

#include <array>
#include <cstdlib>
#include <dlfcn.h>
#include <fcntl.h>
#include <lzma.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>
// ZSTD_createCCtx_advanced (a caller's allocator) and the size estimates.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

namespace core {

namespace {

// Each library is opened only when its format is first used.
// clang-format off
#define DKMS_ZLIB_SYMBOLS(X)                                                             \
  X(inflateInit2_) X(inflate) X(inflateReset) X(inflateEnd) X(deflateInit2_)             \
  X(deflateSetHeader) X(deflateBound) X(deflate) X(deflateEnd)
#define DKMS_LZMA_SYMBOLS(X)                                                             \
  X(lzma_stream_decoder) X(lzma_code) X(lzma_end) X(lzma_lzma_preset)                    \
  X(lzma_stream_encoder) X(lzma_stream_buffer_bound) X(lzma_raw_encoder_memusage)
#define DKMS_ZSTD_SYMBOLS(X)                                                             \
  X(ZSTD_createDCtx) X(ZSTD_decompressStream) X(ZSTD_isError) X(ZSTD_freeDCtx)           \
  X(ZSTD_createCCtx_advanced) X(ZSTD_CCtx_setParameter) X(ZSTD_compressBound)            \
  X(ZSTD_compress2) X(ZSTD_freeCCtx) X(ZSTD_getCParams)                                  \
  X(ZSTD_estimateCCtxSize_usingCParams)
// clang-format on
DKMS_DYNLIB_API(ZlibApi, DKMS_ZLIB_SYMBOLS)
DKMS_DYNLIB_API(LzmaApi, DKMS_LZMA_SYMBOLS)
DKMS_DYNLIB_API(ZstdApi, DKMS_ZSTD_SYMBOLS)

const ZlibApi& zlib() {
  return dynlib::api<ZlibApi>(DKMS_SONAME_ZLIB, "gzip compression");
}
const LzmaApi& liblzma() {
  return dynlib::api<LzmaApi>(DKMS_SONAME_LIBLZMA, "xz compression");
}
const ZstdApi& libzstd() {
  return dynlib::api<ZstdApi>(DKMS_SONAME_LIBZSTD, "zstd compression");
}

struct Format {
  Compression type;
  std::string_view suffix;
  std::string_view magic;
  std::string_view tool;
  // framework.conf's default option string: these are done in process.
  std::string_view default_options;
};

using namespace std::string_view_literals;

constexpr std::array<Format, 3> k_formats = {{
    {Compression::gzip, ".gz", "\x1f\x8b"sv, "gzip", ""},
    {Compression::xz, ".xz", "\xfd\x37\x7a\x58\x5a\x00"sv, "xz",
     "--check=crc32 --lzma2=dict=1MiB"},
    {Compression::zstd, ".zst", "\x28\xb5\x2f\xfd"sv, "zstd", "-q --rm -T0"},
}};

const Format* format_of(Compression c) {
  for (const auto& f : k_formats) {
    if (f.type == c) {
      return &f;
    }
  }
  return nullptr;
}

constexpr size_t k_chunk = 64 * 1024;

// Appends up to k_chunk bytes of room to out; false once max_output would be
// exceeded.
bool grow(std::string& out, size_t used, size_t max_output) {
  if (used > max_output) {
    return false;
  }
  out.resize(used + k_chunk);
  return true;
}

std::optional<std::string> gunzip(std::string_view data, size_t max_output) {
  const ZlibApi& z = zlib();
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only.
  if (z.inflateInit2_(&zs, 16 + MAX_WBITS, ZLIB_VERSION,
                      static_cast<int>(sizeof(z_stream))) != Z_OK) {
    return std::nullopt;
  }
  std::string out;
  size_t used = 0;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  bool ok = false;
  for (;;) {
    if (!grow(out, used, max_output)) {
      break;
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(k_chunk);
    int rc = z.inflate(&zs, Z_NO_FLUSH);
    used = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // gzip(1) accepts concatenated members.
      if (zs.avail_in == 0) {
        ok = true;
        break;
      }
      if (z.inflateReset(&zs) != Z_OK) {
        break;
      }
      continue;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
      break; // corrupt, or truncated (no progress possible)
    }
  }
  z.inflateEnd(&zs);
  if (!ok || used > max_output) {
    return std::nullopt;
  }
  out.resize(used);
  return out;
}

std::optional<std::string> unxz(std::string_view data, size_t max_output) {
  const LzmaApi& lz = liblzma();
  lzma_stream ls = LZMA_STREAM_INIT;
  if (lz.lzma_stream_decoder(&ls, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return std::nullopt;
  }
  std::string out;
  size_t used = 0;
  ls.next_in = reinterpret_cast<const uint8_t*>(data.data());
  ls.avail_in = data.size();
  bool ok = false;
  for (;;) {
    if (!grow(out, used, max_output)) {
      break;
    }
    ls.next_out = reinterpret_cast<uint8_t*>(out.data() + used);
    ls.avail_out = k_chunk;
    lzma_ret rc = lz.lzma_code(&ls, LZMA_FINISH);
    used = out.size() - ls.avail_out;
    if (rc == LZMA_STREAM_END) {
      ok = true;
      break;
    }
    if (rc != LZMA_OK) {
      break;
    }
  }
  lz.lzma_end(&ls);
  if (!ok || used > max_output) {
    return std::nullopt;
  }
  out.resize(used);
  return out;
}

std::optional<std::string> unzstd(std::string_view data, size_t max_output) {
  const ZstdApi& zst = libzstd();
  ZSTD_DCtx* dctx = zst.ZSTD_createDCtx();
  if (dctx == nullptr) {
    return std::nullopt;
  }
  std::string out;
  size_t used = 0;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t last = 1; // 0 once a frame is complete and flushed
  bool ok = true;
  // Frames may not record their size, so stream until input is used up.
  while (in.pos < in.size || last != 0) {
    if (!grow(out, used, max_output)) {
      ok = false;
      break;
    }
    ZSTD_outBuffer ob{out.data() + used, k_chunk, 0};
    size_t before_in = in.pos;
    last = zst.ZSTD_decompressStream(dctx, &ob, &in);
    used += ob.pos;
    if (zst.ZSTD_isError(last) || (ob.pos == 0 && in.pos == before_in && last != 0)) {
      ok = false; // corrupt, or truncated input that can make no progress
      break;
    }
  }
  zst.ZSTD_freeDCtx(dctx);
  if (!ok || used > max_output) {
    return std::nullopt;
  }
  out.resize(used);
  return out;
}

// The compressors' working memory comes from one prefaulted arena, kept
// for the process (a second module reuses its pages): liblzma clears ~0.5 MB
// of match-finder tables even for a 4 KB module, zlib takes ~270 KB, and
// each page first touched costs a fault. prepare_compression() fills it
// ahead, while strip runs. Compression runs on one thread at a time.
std::mutex& scratch_mutex() {
  static std::mutex m;
  return m;
}

util::PrefaultedArena& scratch() {
  static util::PrefaultedArena arena;
  return arena;
}

// More than any module needs (1 MiB dictionaries take ~11 MB); larger
// requests are left to malloc.
constexpr size_t k_scratch_max = 64 * 1024 * 1024;
// The stream layer around the raw encoders (block, index, check).
constexpr size_t k_stream_overhead = 64 * 1024;

void* scratch_allocate(util::PrefaultedArena* arena, size_t size) {
  void* p = arena->allocate(size);
  return p != nullptr ? p : malloc(size);
}

void scratch_release(util::PrefaultedArena* arena, void* p) {
  if (p != nullptr && !arena->owns(p)) {
    free(p);
  }
}

void* lzma_scratch_alloc(void* opaque, size_t nmemb, size_t size) {
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return nullptr;
  }
  return scratch_allocate(static_cast<util::PrefaultedArena*>(opaque), nmemb * size);
}
void lzma_scratch_free(void* opaque, void* p) {
  scratch_release(static_cast<util::PrefaultedArena*>(opaque), p);
}
voidpf zlib_scratch_alloc(voidpf opaque, uInt items, uInt size) {
  return scratch_allocate(static_cast<util::PrefaultedArena*>(opaque),
                          static_cast<size_t>(items) * size);
}
void zlib_scratch_free(voidpf opaque, voidpf p) {
  scratch_release(static_cast<util::PrefaultedArena*>(opaque), p);
}
void* zstd_scratch_alloc(void* opaque, size_t size) {
  return scratch_allocate(static_cast<util::PrefaultedArena*>(opaque), size);
}
void zstd_scratch_free(void* opaque, void* p) {
  scratch_release(static_cast<util::PrefaultedArena*>(opaque), p);
}

// framework.conf's xz settings as liblzma filters for an input of this size.
bool xz_filters(const LzmaApi& lz, size_t input_size, lzma_options_lzma& lzma,
                lzma_filter (&filters)[2]) {
  // The in-kernel xz decoder wants CRC32 (or none) and a dictionary of at
  // most 1 MiB. A dictionary larger than the input holds nothing more, but
  // liblzma sizes (and clears) its match-finder tables by it: ~13 MB for
  // 1 MiB, which costs ~10 ms of page faults even for a 4 KiB module.
  lzma = lzma_options_lzma{};
  if (lz.lzma_lzma_preset(&lzma, 6) != 0) {
    return false;
  }
  lzma.dict_size = xz_dictionary_size(input_size);
  filters[0] = {LZMA_FILTER_LZMA2, &lzma};
  filters[1] = {LZMA_VLI_UNKNOWN, nullptr};
  return true;
}

// What compressing input_size bytes will allocate (0: unknown).
size_t working_memory(Compression c, size_t input_size) {
  switch (c) {
  case Compression::gzip:
    // zlib.h: (1 << (windowBits + 2)) + (1 << (memLevel + 9)), plus its state.
    return (size_t{1} << 17) + (size_t{1} << 17) + k_stream_overhead;
  case Compression::xz: {
    const LzmaApi& lz = liblzma();
    lzma_options_lzma lzma;
    lzma_filter filters[2];
    if (!xz_filters(lz, input_size, lzma, filters)) {
      return 0;
    }
    uint64_t raw = lz.lzma_raw_encoder_memusage(filters);
    return raw == UINT64_MAX ? 0 : static_cast<size_t>(raw) + k_stream_overhead;
  }
  case Compression::zstd: {
    const ZstdApi& zst = libzstd();
    return zst.ZSTD_estimateCCtxSize_usingCParams(
               zst.ZSTD_getCParams(3, static_cast<unsigned long long>(input_size), 0)) +
           k_stream_overhead;
  }
  case Compression::none:
    break;
  }
  return 0;
}

// The arena, reset, with room for compressing input_size bytes if it can
// have it. Called with scratch_mutex() held.
util::PrefaultedArena& scratch_for(Compression c, size_t input_size) {
  util::PrefaultedArena& arena = scratch();
  size_t need = working_memory(c, input_size);
  if (need != 0 && need <= k_scratch_max) {
    arena.reserve(need);
  }
  arena.reset();
  return arena;
}

std::optional<std::string> gzip_bytes(const std::string& data, const std::string& name,
                                      time_t mtime) {
  const ZlibApi& z = zlib();
  z_stream zs{};
  zs.zalloc = zlib_scratch_alloc;
  zs.zfree = zlib_scratch_free;
  zs.opaque = &scratch_for(Compression::gzip, data.size());
  if (z.deflateInit2_(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                      ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK) {
    return std::nullopt;
  }
  // Name and time in the header, as gzip(1) writes them.
  gz_header header{};
  std::string name_z = name;
  header.name = reinterpret_cast<Bytef*>(name_z.data());
  header.time = static_cast<uLong>(mtime);
  header.os = 3; // Unix
  z.deflateSetHeader(&zs, &header);
  std::string out(z.deflateBound(&zs, static_cast<uLong>(data.size())) + name.size() + 32,
                  '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = z.deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  z.deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return std::nullopt;
  }
  return out;
}

} // namespace

uint32_t xz_dictionary_size(size_t input_size) {
  // LZMA2 names 2^n and 2^n + 2^(n-1) bytes; 4 KiB is its smallest.
  for (uint32_t size = 4096; size < k_xz_max_dictionary; size *= 2) {
    if (input_size <= size) {
      return size;
    }
    if (input_size <= size + size / 2) {
      return size + size / 2;
    }
  }
  return k_xz_max_dictionary;
}

namespace {

std::optional<std::string> xz_bytes(const std::string& data) {
  const LzmaApi& lz = liblzma();
  lzma_options_lzma lzma;
  lzma_filter filters[2];
  if (!xz_filters(lz, data.size(), lzma, filters)) {
    return std::nullopt;
  }
  lzma_allocator allocator{lzma_scratch_alloc, lzma_scratch_free,
                           &scratch_for(Compression::xz, data.size())};
  lzma_stream ls = LZMA_STREAM_INIT;
  ls.allocator = &allocator;
  if (lz.lzma_stream_encoder(&ls, filters, LZMA_CHECK_CRC32) != LZMA_OK) {
    return std::nullopt;
  }
  std::string out(lz.lzma_stream_buffer_bound(data.size()), '\0');
  ls.next_in = reinterpret_cast<const uint8_t*>(data.data());
  ls.avail_in = data.size();
  ls.next_out = reinterpret_cast<uint8_t*>(out.data());
  ls.avail_out = out.size();
  lzma_ret rc = lz.lzma_code(&ls, LZMA_FINISH);
  out.resize(ls.total_out);
  lz.lzma_end(&ls);
  if (rc != LZMA_STREAM_END) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> zstd_bytes(const std::string& data) {
  const ZstdApi& zst = libzstd();
  ZSTD_customMem memory{zstd_scratch_alloc, zstd_scratch_free,
                        &scratch_for(Compression::zstd, data.size())};
  ZSTD_CCtx* cctx = zst.ZSTD_createCCtx_advanced(memory);
  if (cctx == nullptr) {
    return std::nullopt;
  }
  // Level 3 with a content checksum: what zstd(1) writes by default.
  zst.ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  zst.ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::string out(zst.ZSTD_compressBound(data.size()), '\0');
  size_t n = zst.ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  zst.ZSTD_freeCCtx(cctx);
  if (zst.ZSTD_isError(n)) {
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

bool compress_in_process(const std::string& path, const Format& f) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return false;
  }
  std::optional<std::string> data = util::read_file(path);
  if (!data) {
    return false;
  }
  std::optional<std::string> packed;
  std::unique_lock<std::mutex> lock(scratch_mutex());
  switch (f.type) {
  case Compression::gzip:
    packed = gzip_bytes(*data, util::basename(path), st.st_mtim.tv_sec);
    break;
  case Compression::xz:
    packed = xz_bytes(*data);
    break;
  case Compression::zstd:
    packed = zstd_bytes(*data);
    break;
  case Compression::none:
    break;
  }
  lock.unlock();
  std::string target = path + std::string(f.suffix);
  if (!packed || !util::write_file_atomic(target, *packed, st.st_mode & 07777,
                                          util::Sync::scratch)) {
    return false;
  }
  // The tools keep the original's timestamps.
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, target.c_str(), times, 0);
  return unlink(path.c_str()) == 0;
}

bool run_tool(const std::string& path, const Format& f, const std::string& options,
              Output* out) {
  ProcessSpec spec;
  spec.argv.emplace_back(f.tool);
  for (auto& word : util::split_words(options)) {
    spec.argv.push_back(std::move(word));
  }
  spec.argv.emplace_back("-f");
  spec.argv.push_back(path);
  if (out != nullptr && out->capturing()) {
    spec.out = Sink::capture;
    spec.merge_stderr = true;
  } else if (out != nullptr) {
    spec.out_fd = out->stdout_fd();
    spec.err_fd = out->stderr_fd();
  }
  ProcessResult r = run_process(spec);
  if (out != nullptr && !r.output.empty()) {
    out->err(r.output);
  }
  return r.status == 0;
}

// The libraries do the work for framework.conf's default option string
// (compared as word lists: bash splits the string the same way); any other
// string runs the command-line tool with it.
bool compresses_in_process(const Format& f, const std::string& options) {
  return util::split_words(options) == util::split_words(f.default_options);
}

bool compress_impl(const std::string& path, Compression c, const std::string& options,
                   Output* out) {
  const Format* f = format_of(c);
  if (f == nullptr) {
    return false;
  }
  if (compresses_in_process(*f, options)) {
    return compress_in_process(path, *f);
  }
  return run_tool(path, *f, options, out);
}

} // namespace

std::string_view suffix_of(Compression c) {
  const Format* f = format_of(c);
  return f == nullptr ? std::string_view() : f->suffix;
}

Compression compression_from_suffix(std::string_view suffix) {
  for (const auto& f : k_formats) {
    if (f.suffix == suffix) {
      return f.type;
    }
  }
  return Compression::none;
}

Compression detect_compression(std::string_view data) {
  for (const auto& f : k_formats) {
    if (data.substr(0, f.magic.size()) == f.magic) {
      return f.type;
    }
  }
  return Compression::none;
}

std::optional<std::string> decompress(std::string_view data, size_t max_output) {
  switch (detect_compression(data)) {
  case Compression::gzip:
    return gunzip(data, max_output);
  case Compression::xz:
    return unxz(data, max_output);
  case Compression::zstd:
    return unzstd(data, max_output);
  case Compression::none:
    break;
  }
  return std::string(data);
}

void prepare_compression(Compression c, const std::string& options,
                         size_t input_size) noexcept {
  const Format* f = format_of(c);
  if (f == nullptr || !compresses_in_process(*f, options)) {
    return; // the command-line tool compresses: nothing to prepare here
  }
  const char* soname = c == Compression::xz     ? DKMS_SONAME_LIBLZMA
                       : c == Compression::zstd ? DKMS_SONAME_LIBZSTD
                                                : DKMS_SONAME_ZLIB;
  // Quietly: a library that cannot be loaded is reported once, when
  // compression runs.
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return;
  }
  try {
    std::lock_guard<std::mutex> lock(scratch_mutex());
    size_t need = working_memory(c, input_size);
    if (need != 0 && need <= k_scratch_max) {
      scratch().reserve(need);
    }
  } catch (...) {
    // Only a preparation: compression reports what went wrong.
  }
  dlclose(handle); // the loaded API keeps its own reference
}

bool compress_file(const std::string& path, Compression c, const std::string& options) {
  return compress_impl(path, c, options, nullptr);
}

bool compress_file(const std::string& path, Compression c, const std::string& options,
                   Output& out) {
  return compress_impl(path, c, options, &out);
}

} // namespace core
