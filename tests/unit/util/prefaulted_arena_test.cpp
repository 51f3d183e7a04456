#include "util/prefaulted_arena.hpp"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>

namespace {

TEST(PrefaultedArena, HandsOutAlignedDisjointBlocksUntilFull) {
  util::PrefaultedArena arena;
  EXPECT_EQ(arena.allocate(1), nullptr) << "nothing reserved yet";
  ASSERT_TRUE(arena.reserve(10000));
  EXPECT_GE(arena.capacity(), 10000u);
  auto* a = static_cast<char*>(arena.allocate(100));
  auto* b = static_cast<char*>(arena.allocate(3000));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  EXPECT_GE(b, a + 100);
  std::memset(a, 'a', 100);
  std::memset(b, 'b', 3000);
  EXPECT_EQ(a[99], 'a');
  EXPECT_TRUE(arena.owns(a));
  EXPECT_TRUE(arena.owns(b + 2999));
  int outside = 0;
  EXPECT_FALSE(arena.owns(&outside));
  EXPECT_EQ(arena.allocate(arena.capacity()), nullptr) << "more than is left";
  arena.reset();
  EXPECT_EQ(arena.allocate(arena.capacity()), a) << "after reset, from the start";
}

TEST(PrefaultedArena, ReserveGrowsButNeverShrinks) {
  util::PrefaultedArena arena;
  ASSERT_TRUE(arena.reserve(100000));
  const size_t big = arena.capacity();
  ASSERT_TRUE(arena.reserve(10));
  EXPECT_EQ(arena.capacity(), big);
  ASSERT_TRUE(arena.reserve(big + 1));
  EXPECT_GT(arena.capacity(), big);
  auto* p = static_cast<char*>(arena.allocate(big + 1));
  ASSERT_NE(p, nullptr);
  p[big] = 1; // the whole block is mapped
}

TEST(PrefaultedArena, ImpossibleSizeIsRefused) {
  util::PrefaultedArena arena;
  EXPECT_FALSE(arena.reserve(SIZE_MAX / 2));
  EXPECT_EQ(arena.capacity(), 0u);
  EXPECT_EQ(arena.allocate(16), nullptr);
}

} // namespace
