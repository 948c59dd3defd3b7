#pragma once
// The seam between the network service and an Ethernet device: whole frames
// in, whole frames out, with the batching left to the device.
//
// The kernel implements it with virtio-net (kernel/drivers/virtio/net.h);
// host tests with a pair of queues in memory.
//
// Ownership: a received frame lives in a device buffer that the service
// reads until it calls ReleaseReceived(), which hands the buffer back to the
// device (no allocation: the buffers are fixed at start). Transmit() copies
// the frame, so the caller's memory is free again on return. Only the
// service's thread calls any of this.

#include <cstddef>
#include <cstdint>
#include <span>

namespace uk::net {

inline constexpr size_t kEthernetHeader = 14;
inline constexpr size_t kMaxFrame = 1514;  // without the FCS

struct MacAddress {
  uint8_t bytes[6] = {};
};

class NetDevice {
 public:
  virtual MacAddress mac() const = 0;
  virtual uint16_t mtu() const = 0;
  virtual bool LinkUp() = 0;
  // True if the device fills in TCP and UDP checksums of transmitted frames
  // (virtio-net's CSUM feature): the stack then leaves them to it.
  virtual bool OffloadsTransmitChecksums() const { return false; }

  // The oldest received frame not yet released, if any. The span stays valid
  // until ReleaseReceived().
  virtual bool Receive(std::span<const uint8_t>* frame) = 0;
  virtual void ReleaseReceived() = 0;

  // Queues a copy of the frame gathered from `parts` (total <= kMaxFrame).
  // False if the transmit ring is full: Flush() and try again after the
  // device has completed some (Ready()).
  virtual bool Transmit(const std::span<const uint8_t>* parts, size_t count) = 0;

  // Makes queued frames and returned receive buffers visible to the device,
  // with at most one notification per queue.
  virtual void Flush() = 0;

  // True if a frame arrived or a transmission completed since the last look.
  virtual bool Ready() = 0;
  // Asks for an interrupt at the next event; true if one already happened
  // (poll again instead of waiting).
  virtual bool ArmInterrupts() = 0;

 protected:
  ~NetDevice() = default;
};

}  // namespace uk::net
