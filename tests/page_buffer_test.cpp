#include "base/page_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "base/error.h"

namespace ksearch {
namespace {

TEST(PageBuffer, IsZeroedWritableAndPageAligned) {
  PageBuffer buffer(3 * 4096 + 17);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer.data()) % 4096, 0u);
  auto* bytes = static_cast<unsigned char*>(buffer.data());
  for (std::size_t i = 0; i < buffer.size(); ++i) ASSERT_EQ(bytes[i], 0) << i;
  std::memset(bytes, 0xAB, buffer.size());
  EXPECT_EQ(bytes[buffer.size() - 1], 0xAB);
}

TEST(PageBuffer, MovesOwnership) {
  PageBuffer first(4096);
  void* data = first.data();
  PageBuffer second = std::move(first);
  EXPECT_EQ(second.data(), data);
  EXPECT_EQ(second.size(), 4096u);
  EXPECT_EQ(first.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(first.size(), 0u);
  first = std::move(second);
  EXPECT_EQ(first.data(), data);
}

TEST(PageBuffer, EmptyHasNoMemory) {
  PageBuffer empty(0);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0u);
}

TEST(PageBuffer, ImpossibleSizeIsAnError) {
  try {
    PageBuffer huge(std::numeric_limits<std::size_t>::max() / 2);
    FAIL() << "mapped an impossible size";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot allocate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ksearch
