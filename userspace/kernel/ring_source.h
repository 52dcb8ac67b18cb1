// The event source: drains the BPF ring buffer and hands each record to the
// caller as a decoded Transition.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/reconciler.h"  // EventDrain
#include "core/transition.h"

struct ring_buffer;

namespace tcpscope {

class Recorder;

class RingSource : public EventDrain {
  public:
    using Handler = std::function<void(const Transition&)>;

    // Throws std::runtime_error if the ring buffer cannot be mapped.
    RingSource(int ringbuf_fd, Handler handler);
    ~RingSource();
    RingSource(const RingSource&) = delete;
    RingSource& operator=(const RingSource&) = delete;

    // Waits up to timeout for a forced wake-up, then drains everything waiting
    // (records are submitted without per-event wake-ups). Returns records read.
    std::uint64_t poll(std::chrono::milliseconds timeout);
    std::uint64_t drain() override;

    std::uint64_t malformed() const { return malformed_; }
    // -w: every record is copied into the recording, as received, before
    // it is decoded.
    void record_into(Recorder* recorder) { recorder_ = recorder; }

  private:
    static int on_record(void* ctx, void* data, std::size_t size);

    Handler handler_;
    Recorder* recorder_ = nullptr;
    struct Deleter {
        void operator()(ring_buffer* rb) const;
    };
    std::unique_ptr<ring_buffer, Deleter> rb_;
    std::uint64_t consumed_ = 0;
    std::uint64_t malformed_ = 0;
};

}  // namespace tcpscope
