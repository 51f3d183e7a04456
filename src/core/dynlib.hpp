#pragma once

// Shared libraries that only some commands need (libarchive, libcrypto, the
// compression libraries) are opened on first use rather than by the dynamic
// loader at start-up: loading and relocating them costs more than a whole
// `dkms status` run otherwise takes.
//
// A user lists the symbols it needs and gets a struct of function pointers
// typed from the library's own header (decltype(&::name)), so a call through
// the struct is checked exactly like a direct call:
//
//   #define ZLIB_SYMBOLS(X) X(zlibVersion) X(inflate)
//   DKMS_DYNLIB_API(ZlibApi, ZLIB_SYMBOLS)
//   const ZlibApi& zlib() {
//     return core::dynlib::api<ZlibApi>(DKMS_SONAME_ZLIB, "gzip compression");
//   }
//   ... zlib().inflate(&zs, Z_NO_FLUSH) ...
//
// Header macros that expand to other functions (inflateInit2 ->
// inflateInit2_) must be listed, and called, under the expanded name.
namespace core::dynlib {

// A library opened with dlopen(RTLD_NOW | RTLD_LOCAL). Either call prints
// one line naming the library and dlerror() to stderr and throws
// core::Exit{1} when the library or a symbol cannot be had.
class Library {
public:
  // purpose says what the library is needed for, in the error line.
  Library(const char* soname, const char* purpose);
  void* symbol(const char* name) const;

private:
  [[noreturn]] void fail(const char* what) const;

  const char* m_soname;
  const char* m_purpose;
  void* m_handle;
};

// The API struct, loaded on the first call and kept for the process. A
// failed load is retried on the next call (it threw before initialising).
template <typename Api> const Api& api(const char* soname, const char* purpose) {
  static const Api loaded = Api::load(Library(soname, purpose));
  return loaded;
}

} // namespace core::dynlib

#define DKMS_DYNLIB_FIELD(name) decltype(&::name) name = nullptr;
#define DKMS_DYNLIB_RESOLVE(name)                                                        \
  api.name = reinterpret_cast<decltype(&::name)>(lib.symbol(#name));

// Declares struct Type with one function pointer per name in LIST (an
// X-macro taking a macro argument) and a static load(const Library&).
#define DKMS_DYNLIB_API(Type, LIST)                                                      \
  struct Type {                                                                          \
    LIST(DKMS_DYNLIB_FIELD)                                                              \
    static Type load(const core::dynlib::Library& lib) {                                 \
      Type api;                                                                          \
      LIST(DKMS_DYNLIB_RESOLVE)                                                          \
      return api;                                                                        \
    }                                                                                    \
  };
