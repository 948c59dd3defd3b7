#pragma once
// A table of objects named by handles that go stale when closed: a handle is
// (generation << index bits) | index, and closing a slot bumps its
// generation, so a client holding a closed handle gets "bad handle", never
// the object that reused the slot. Handle 0 is never issued. Used by the fs
// service for open files; one thread (the service's) owns a table.
//
// Portable, no allocation: kSlots objects live inside the table.

#include <cstdint>

namespace uk::svc {

template <typename T, uint32_t kSlots>
class HandleTable {
  static_assert(kSlots > 0 && kSlots <= (1u << 20));

 public:
  static constexpr uint32_t kIndexBits = [] {
    uint32_t bits = 1;
    while ((1u << bits) < kSlots) ++bits;
    return bits;
  }();
  static constexpr uint32_t kGenerationMask = (1u << (32 - kIndexBits)) - 1;

  // A free slot, value-initialized, and its handle in *handle; nullptr when
  // every slot is taken.
  T* Open(uint32_t* handle) {
    for (uint32_t index = 0; index < kSlots; ++index) {
      Slot& slot = slots_[index];
      if (slot.in_use) continue;
      slot.in_use = true;
      slot.value = T{};
      ++open_;
      *handle = slot.generation << kIndexBits | index;
      return &slot.value;
    }
    return nullptr;
  }

  // The object `handle` names, or nullptr if it is not open (never issued,
  // closed, or a slot since reused).
  T* Find(uint32_t handle) {
    const uint32_t index = handle & ((1u << kIndexBits) - 1);
    if (index >= kSlots) return nullptr;
    Slot& slot = slots_[index];
    if (!slot.in_use || slot.generation != handle >> kIndexBits) return nullptr;
    return &slot.value;
  }

  // Closes `handle`; false if it was not open.
  bool Close(uint32_t handle) {
    if (Find(handle) == nullptr) return false;
    Slot& slot = slots_[handle & ((1u << kIndexBits) - 1)];
    slot.in_use = false;
    slot.generation = (slot.generation + 1) & kGenerationMask;
    if (slot.generation == 0) slot.generation = 1;  // 0 is never issued
    --open_;
    return true;
  }

  uint32_t open() const { return open_; }
  static constexpr uint32_t capacity() { return kSlots; }

 private:
  struct Slot {
    T value{};
    uint32_t generation = 1;  // never 0, so handle 0 is never issued
    bool in_use = false;
  };
  Slot slots_[kSlots];
  uint32_t open_ = 0;
};

}  // namespace uk::svc
