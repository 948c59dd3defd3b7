#include "kernel/drivers/virtio/mmio_devices.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace uk::virtio {
namespace {

TEST(MmioDevicesTest, ParsesWhatFirecrackerAndQemuWrite) {
  MmioDevice d;
  ASSERT_TRUE(ParseMmioDevice("512@0xfeb00e00:12", &d));
  EXPECT_EQ(d.size, 512u);
  EXPECT_EQ(d.base, 0xfeb00e00u);
  EXPECT_EQ(d.gsi, 12u);
  ASSERT_TRUE(ParseMmioDevice("4K@0xd0000000:5", &d));
  EXPECT_EQ(d.size, 4096u);
  EXPECT_EQ(d.base, 0xd0000000u);
  EXPECT_EQ(d.gsi, 5u);
  ASSERT_TRUE(ParseMmioDevice("0x200@4273999360:16:3", &d));  // decimal base, a device id
  EXPECT_EQ(d.base, 4273999360u);
  EXPECT_EQ(d.gsi, 16u);
  ASSERT_TRUE(ParseMmioDevice("1M@0x10000000:7", &d));
  EXPECT_EQ(d.size, 1u << 20);
}

TEST(MmioDevicesTest, RefusesEveryMalformedShape) {
  MmioDevice d{1, 2, 3};
  for (const char* bad : {"", "512", "512@", "512@0x1000", "512@0x1000:", "@0x1000:5",
                          "512@0x1000:5:", "512@0x1000:5x", "4X@0x1000:5", "512@zz:5",
                          "0x@0x1000:5", "16@0x1000:5",           // smaller than the registers
                          "2G@0x1000:5",                          // larger than 1 GiB
                          "512@0x1001:5",                         // unaligned
                          "512@0xffffffffffffff00:5",             // wraps around
                          "99999999999999999999@0x1000:5",        // overflows
                          "17179869184G@0x1000:5",                // overflows once shifted
                          "512@0x1000:256", " 512@0x1000:5"}) {
    EXPECT_FALSE(ParseMmioDevice(bad, &d)) << bad;
  }
  EXPECT_EQ(d.base, 1u);  // untouched by failures
}

TEST(MmioDevicesTest, FindsEveryEntryOfACommandLine) {
  std::vector<uint64_t> bases;
  std::vector<std::string> bad;
  ForEachMmioDevice(
      "net_core=1  virtio_mmio.device=4K@0xd0000000:5 foo virtio_mmio.device=oops "
      "xvirtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7",
      [&](const MmioDevice& d) { bases.push_back(d.base); },
      [&](std::string_view value) { bad.emplace_back(value); });
  EXPECT_EQ(bases, (std::vector<uint64_t>{0xd0000000, 0xd0002000}));
  EXPECT_EQ(bad, std::vector<std::string>{"oops"});
  int calls = 0;
  ForEachMmioDevice("", [&](const MmioDevice&) { ++calls; }, [&](std::string_view) { ++calls; });
  ForEachMmioDevice("   ", [&](const MmioDevice&) { ++calls; }, [&](std::string_view) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace uk::virtio
