#pragma once

#include <cstddef>

// Memory mapped and faulted in at once (MAP_POPULATE, then a write to each
// page), handed out by bumping an offset. For a library's working memory (a
// compressor's match tables: ~0.5 MB even for a 4 KB module): where the
// first touch of each page traps (~13-19 µs a page on a VM here), faulting
// the lot in is cheaper in one go, and can be done ahead, while waiting for
// something else.
namespace util {

class PrefaultedArena {
public:
  PrefaultedArena() = default;
  ~PrefaultedArena();
  PrefaultedArena(const PrefaultedArena&) = delete;
  PrefaultedArena& operator=(const PrefaultedArena&) = delete;

  // Ensures `size` bytes from the start, mapping anew (and dropping what was
  // handed out) when the current mapping is smaller. False if it could not
  // be mapped: allocate() then finds no room.
  bool reserve(size_t size);
  // Hands out memory from the start again: every earlier block is unused.
  void reset() { m_used = 0; }
  // A block aligned for any type (64 bytes), or nullptr when the rest of
  // the mapping is too small.
  void* allocate(size_t size);
  bool owns(const void* p) const;
  size_t capacity() const { return m_size; }

private:
  char* m_base = nullptr;
  size_t m_size = 0;
  size_t m_used = 0;
};

} // namespace util
