// libFuzzer target: arbitrary bytes as a recording (-r FILE), most of them
// behind a valid header so that the fuzzer reaches the records. Every
// damage must end in a RecordingError (or a decoded, counted event), never
// a crash, a hang or an allocation the file's size does not justify.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/decode.h"
#include "record/record_codec.h"
#include "record/replay.h"
#include "tcpscope/event.h"

namespace {

const std::string& valid_header() {
    static const std::string header = [] {
        tcpscope::RecordingHeader h;
        h.tcpscope_version = "fuzz";
        h.command = "trace";
        h.event_size = sizeof(tcpscope_event);
        h.settings = {{"listings", "1"}};
        return tcpscope::encode_header(h);
    }();
    return header;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = "/dev/shm/tcpscope-fuzz-replay-" + std::to_string(getpid());
    std::string bytes;
    if (size > 0 && (data[0] & 1) != 0) {
        bytes.assign(reinterpret_cast<const char*>(data) + 1, size - 1);  // the header too
    } else {
        bytes = valid_header();
        bytes.append(reinterpret_cast<const char*>(data), size);
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        return 0;
    }
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);

    std::unique_ptr<tcpscope::Replay> replay;
    try {
        replay = std::make_unique<tcpscope::Replay>(std::vector<std::string>{path});
    } catch (const tcpscope::RecordingError&) {
        return 0;
    }
    // Asks in a fixed rotation, as a command asks for its inputs; an ask
    // that finds another record fails and the next goes on, until three
    // fail in a row (the file's end, or damage every ask runs into).
    int failed_in_a_row = 0;
    for (unsigned ask = 0; ask < 100000 && failed_in_a_row < 3; ++ask) {
        try {
            switch (ask % 8) {
                case 0:
                case 1:
                    if (replay->step() == tcpscope::Replay::Step::Event) {
                        std::string_view raw = replay->event();
                        (void)tcpscope::decode_event(raw.data(), raw.size());
                    }
                    break;
                case 2:
                    (void)replay->listing();
                    break;
                case 3:
                    (void)replay->clock(tcpscope::ClockKind::Monotonic);
                    break;
                case 4:
                    (void)replay->losses();
                    break;
                case 5:
                    (void)replay->limits();
                    break;
            }
            (void)replay->find(ask);
            (void)replay->program(ask);
            failed_in_a_row = 0;
        } catch (const tcpscope::RecordingError&) {
            ++failed_in_a_row;
        }
    }
    return 0;
}
