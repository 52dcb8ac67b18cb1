#include "kernel/ring_source.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/decode.h"
#include "record/recorder.h"

namespace tcpscope {

void RingSource::Deleter::operator()(ring_buffer* rb) const {
    ring_buffer__free(rb);
}

RingSource::RingSource(int ringbuf_fd, Handler handler) : handler_(std::move(handler)) {
    rb_.reset(ring_buffer__new(ringbuf_fd, &RingSource::on_record, this, nullptr));
    if (!rb_) {
        throw std::runtime_error(std::string("mapping the ring buffer failed: ") +
                                 std::strerror(errno));
    }
}

RingSource::~RingSource() = default;

int RingSource::on_record(void* ctx, void* data, std::size_t size) {
    auto* self = static_cast<RingSource*>(ctx);
    ++self->consumed_;
    if (self->recorder_ != nullptr) {
        self->recorder_->event(data, size);
    }
    if (auto t = decode_event(data, size)) {
        self->handler_(*t);
    } else {
        ++self->malformed_;
    }
    return 0;
}

std::uint64_t RingSource::poll(std::chrono::milliseconds timeout) {
    int rc = ring_buffer__poll(rb_.get(), static_cast<int>(timeout.count()));
    if (rc < 0 && rc != -EINTR) {
        throw std::runtime_error(std::string("polling the ring buffer failed: ") +
                                 std::strerror(-rc));
    }
    // The poll returns on timeout without reading; records submitted with
    // BPF_RB_NO_WAKEUP are read here.
    return drain();
}

std::uint64_t RingSource::drain() {
    std::uint64_t before = consumed_;
    int rc = ring_buffer__consume(rb_.get());
    if (rc < 0 && rc != -EINTR) {
        throw std::runtime_error(std::string("reading the ring buffer failed: ") +
                                 std::strerror(-rc));
    }
    return consumed_ - before;
}

}  // namespace tcpscope
