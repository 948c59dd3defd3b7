// Compiles the queue in every build, kernel included (the header alone
// would only be compiled by its users).

#include "kernel/drivers/virtio/split_queue.h"

namespace uk::virtio {

template class SplitQueue<256>;

}  // namespace uk::virtio
